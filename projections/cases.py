"""The cases and incidents read models: one row per migrant, one per incident.

They are one projection because each needs the other: an incident row shows
its migrant's name, sex and case number; a case row counts its open
incidents. Search terms (`rm_case_search`) are written once, at registration
(names, documents and phone are never amended by an event).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from domain.incidents.vocabulary import OPEN_STATUSES
from domain.personal import ERASED, KEPT_KEY
from domain.values import age_band
from projections.base import Projection, RowCache, ts
from projections.db import ReadModelDb
from projections.log import Record
from projections.terms import case_terms, name_key

CASE_COLUMNS = (
    "migrant_id",
    "case_number",
    "full_name",
    "name_key",
    "sex",
    "date_of_birth",
    "age_band",
    "county",
    "national_id",
    "passport_number",
    "phone",
    "education",
    "stage",
    "cycle",
    "destination",
    "employer",
    "sector",
    "job_title",
    "wage_minor",
    "wage_currency",
    "membership_number",
    "open_incidents",
    "incidents",
    "assigned_officer_id",
    "registered_at",
    "last_activity_at",
    "version",
    # When the case was closed (null while open): retention counts from it.
    "closed_at",
    # When the person's personal data was erased (null: it was not).
    "erased_at",
    # The contract's registered employer and agency (issue 16, migration 0018).
    "employer_id",
    "agency_id",
)

INCIDENT_COLUMNS = (
    "incident_id",
    "migrant_id",
    "case_number",
    "full_name",
    "sex",
    "category",
    "gbv_subtype",
    "severity",
    "status",
    "is_open",
    "country",
    "channel",
    "occurred_at",
    "reported_at",
    "recorded_at",
    "assistance_status",
    "assistance_requests",
    "closed_at",
    "last_activity_at",
    "reported_by",
)

# Registration fields a RegistrationCorrected event may change.
CORRECTABLE = frozenset({"full_name", "sex", "date_of_birth", "phone", "county", "education"})

OPEN = frozenset(str(s) for s in OPEN_STATUSES)

# Stage changes, as the Migrant aggregate applies them.
STAGE_AFTER = {
    "Departed": "departed",
    "Arrived": "on_site",
    "Returned": "returned",
    "SkillsCertified": "reintegration",
    "ReferralMade": "reintegration",
    "CaseClosed": "closed",
    "CycleStarted": "pre_departure",
}

CASE_TYPES = frozenset(
    {
        "MigrantRegistered",
        "OrientationCompleted",
        "SkillsAssessed",
        "ContractRegistered",
        "MembershipStarted",
        "Departed",
        "Arrived",
        "EmployerChanged",
        "ContractRenewed",
        "ContractTerminated",
        "WelfareCheckRecorded",
        "OnSiteTrainingCompleted",
        "Returned",
        "SkillsCertified",
        "ReferralMade",
        "ReferralOutcomeRecorded",
        "CaseClosed",
        "CycleStarted",
        "CaseOfficerAssigned",
        "RegistrationCorrected",
        # Consents change no column but the case's version and activity.
        "ConsentRecorded",
        "ConsentWithdrawn",
        "ErasureRequested",
        "PersonalDataErased",
        "ContractWarningJustified",
        "ContractPartiesLinked",
    }
)

INCIDENT_TYPES = frozenset(
    {
        "IncidentReported",
        "IncidentAssessed",
        "IncidentReferred",
        "AssistanceRequested",
        "AssistanceProvided",
        "AssistancePaid",
        "AssistanceDeclined",
        "IncidentNoteAdded",
        "IncidentResolved",
        "IncidentClosed",
    }
)


def later(a: str | None, b: str | None) -> str | None:
    return b if a is None or (b is not None and b > a) else a


class CasesProjection(Projection):
    name = "cases"
    rebuild_weight = 8.0
    tables = ("rm_case_search", "rm_incidents", "rm_cases")
    types = CASE_TYPES | INCIDENT_TYPES

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        cases = RowCache(db, "rm_cases", CASE_COLUMNS, "migrant_id")
        incidents = RowCache(db, "rm_incidents", INCIDENT_COLUMNS, "incident_id")
        # Rows whose first event is in this page cannot be stored yet: no
        # need to look for them.
        registered_now = {r.originator_id for r in records if r.type == "MigrantRegistered"}
        reported_now = {r.originator_id for r in records if r.type == "IncidentReported"}
        incidents.load(
            {r.originator_id for r in records if r.type in INCIDENT_TYPES} - reported_now
        )
        migrant_ids = {r.originator_id for r in records if r.type in CASE_TYPES}
        migrant_ids |= {r.data["migrant_id"] for r in records if r.type == "IncidentReported"}
        migrant_ids |= {row["migrant_id"] for row in incidents.rows.values()}
        cases.load(migrant_ids - registered_now)
        # Search terms carry stage and destination (indexed filters).
        filters_before = {m: (r["stage"], r["destination"]) for m, r in cases.rows.items()}
        registered: set[str] = set()
        corrected: set[str] = set()
        for record in records:
            if record.type == "MigrantRegistered":
                registered.add(record.originator_id)
            elif record.type == "RegistrationCorrected":
                corrected.add(record.originator_id)
            if record.type in CASE_TYPES:
                self.apply_case(cases, record)
            else:
                self.apply_incident(cases, incidents, record)
        cases.flush()
        incidents.flush()
        # An incident row carries its migrant's name and sex.
        db.executemany(
            "UPDATE rm_incidents SET full_name = ?, sex = ? WHERE migrant_id = ?",
            [(cases.rows[m]["full_name"], cases.rows[m]["sex"], m) for m in sorted(corrected)],
        )
        if self.deferring:
            return  # settle() writes every case's terms once, at the head
        self.write_terms(db, cases, registered, corrected)
        moved = sorted(
            m
            for m, before in filters_before.items()
            if m not in corrected
            and (cases.rows[m]["stage"], cases.rows[m]["destination"]) != before
        )
        db.executemany(
            "UPDATE rm_case_search SET stage = ?, destination = ? WHERE migrant_id = ?",
            [(cases.rows[m]["stage"], cases.rows[m]["destination"], m) for m in moved],
        )

    def settle(self, db: ReadModelDb, chunk: int = 5_000) -> None:
        """Every case's search terms, from its final row, in one pass at the
        head of a shadow build. Page by page they would be written at
        registration and rewritten at every stage change - ~45k single-row
        UPDATEs at 20k migrants, the build's costliest statement - and what
        a case's terms are (names, documents, phone, case number, stage,
        destination) is all in its final row."""
        after = ""
        while True:
            rows = db.fetchall(
                "SELECT migrant_id, full_name, case_number, phone, national_id, "
                "passport_number, stage, destination FROM rm_cases "
                "WHERE migrant_id > ? ORDER BY migrant_id LIMIT ?",
                (after, chunk),
            )
            if not rows:
                return
            terms = [
                (term, row[0], row[6], row[7])
                for row in rows
                for term in sorted(case_terms(*row[1:6]))
            ]
            db.insert_many("rm_case_search", ("term", "migrant_id", "stage", "destination"), terms)
            after = rows[-1][0]

    @staticmethod
    def write_terms(db: ReadModelDb, cases: RowCache, registered: set, corrected: set) -> None:
        """Search terms from each case's final row in this page; a correction
        replaces the old terms."""
        stale = sorted(corrected - registered)
        db.delete_keys("rm_case_search", "migrant_id", stale)
        terms = []
        for migrant_id in sorted(registered | corrected):
            row = cases.rows[migrant_id]
            found = case_terms(
                row["full_name"],
                row["case_number"],
                row["phone"],
                row["national_id"],
                row["passport_number"],
            )
            terms += [
                (term, migrant_id, row["stage"], row["destination"]) for term in sorted(found)
            ]
        db.insert_many("rm_case_search", ("term", "migrant_id", "stage", "destination"), terms)

    def apply_case(self, cases: RowCache, record: Record) -> None:
        d, kind = record.data, record.type
        migrant_id = d["originator_id"]
        if kind == "MigrantRegistered":
            cases.put(migrant_id, self.new_case(d))
            return
        row = cases.get(migrant_id)
        if row is None:
            raise LookupError(f"{kind} for unknown migrant {migrant_id}")
        cases.touch(migrant_id)
        row["version"] = d["originator_version"]
        row["last_activity_at"] = later(row["last_activity_at"], ts(d["occurred_at"]))
        if kind in STAGE_AFTER:
            row["stage"] = STAGE_AFTER[kind]
        if kind == "ContractRegistered":
            contract = d["contract"]
            row.update(
                destination=contract["destination_country"],
                employer=contract["employer_name"],
                sector=contract["sector"],
                job_title=contract["job_title"],
                wage_minor=contract["monthly_wage"]["amount_minor"],
                wage_currency=contract["monthly_wage"]["currency"],
                employer_id=contract.get("employer_id"),
                agency_id=contract.get("agency_id"),
            )
        elif kind == "EmployerChanged":
            row["employer"] = d["employer_name"]
            row["employer_id"] = d.get("employer_id")
        elif kind == "ContractPartiesLinked":
            for name in ("employer_id", "agency_id"):
                if d.get(name) is not None:
                    row[name] = d[name]
        elif kind == "ContractRenewed":
            row["wage_minor"] = d["monthly_wage"]["amount_minor"]
            row["wage_currency"] = d["monthly_wage"]["currency"]
        elif kind == "MembershipStarted":
            row["membership_number"] = d["membership_number"]
        elif kind == "CaseClosed":
            row["closed_at"] = ts(d["occurred_at"])
        elif kind == "PersonalDataErased":
            row["erased_at"] = ts(d["occurred_at"])
        elif kind == "CycleStarted":
            row.update(
                closed_at=None,
                cycle=d["cycle"],
                destination="",
                employer="",
                sector="",
                job_title="",
                wage_minor=None,
                wage_currency=None,
                employer_id=None,
                agency_id=None,
            )
        elif kind == "CaseOfficerAssigned":
            row["assigned_officer_id"] = d["officer_id"]
        elif kind == "RegistrationCorrected":
            for name, change in d["corrections"].items():
                if name in CORRECTABLE and change["now"] is not None:
                    row[name] = change["now"]
            row["name_key"] = name_key(row["full_name"])
            if row["date_of_birth"] != ERASED:  # erased: the band kept stays
                row["age_band"] = age_band(
                    date.fromisoformat(row["date_of_birth"]),
                    date.fromisoformat(row["registered_at"][:10]),
                )

    @staticmethod
    def new_case(d: dict) -> dict:
        occurred = ts(d["occurred_at"])
        return {
            "migrant_id": d["originator_id"],
            "case_number": d["case_number"],
            "full_name": d["full_name"],
            "name_key": name_key(d["full_name"]),
            "sex": d["sex"],
            "date_of_birth": d["date_of_birth"],
            # Age when registered: a stored row cannot age by itself. An
            # erased birth date leaves the band it gave (domain/personal.py).
            "age_band": d[KEPT_KEY]["age_band"]
            if d["date_of_birth"] == ERASED
            else age_band(
                date.fromisoformat(d["date_of_birth"]), date.fromisoformat(occurred[:10])
            ),
            "county": d["county"],
            "national_id": d["national_id"],
            "passport_number": d["passport_number"],
            "phone": d["phone"],
            "education": d["education"],
            "stage": "pre_departure",
            "cycle": 1,
            "destination": "",
            "employer": "",
            "sector": "",
            "job_title": "",
            "wage_minor": None,
            "wage_currency": None,
            "membership_number": None,
            "open_incidents": 0,
            "incidents": 0,
            "assigned_officer_id": d["actor_id"],
            "registered_at": occurred,
            "last_activity_at": occurred,
            "version": d["originator_version"],
            "closed_at": None,
            "erased_at": None,
            "employer_id": None,
            "agency_id": None,
        }

    def apply_incident(self, cases: RowCache, incidents: RowCache, record: Record) -> None:
        d, kind = record.data, record.type
        incident_id = d["originator_id"]
        if kind == "IncidentReported":
            case = cases.get(d["migrant_id"])
            if case is None:
                raise LookupError(f"incident {incident_id} for unknown migrant {d['migrant_id']}")
            row = incidents.put(incident_id, self.new_incident(d, case))
            was_open = False
        else:
            row = incidents.get(incident_id)
            if row is None:
                raise LookupError(f"{kind} for unknown incident {incident_id}")
            incidents.touch(incident_id)
            case = cases.get(row["migrant_id"])
            assert case is not None, row
            was_open = bool(row["is_open"])
        row["last_activity_at"] = later(row["last_activity_at"], ts(d["timestamp"]))
        if kind == "IncidentAssessed":
            row["severity"] = d["severity"]
            if row["status"] == "reported":
                row["status"] = "assessed"
        elif kind == "IncidentReferred":
            row["status"] = "referred"
        elif kind == "AssistanceRequested":
            row["assistance_requests"] += 1
            row["assistance_status"] = "requested"
        elif kind == "AssistanceProvided":
            row["assistance_status"] = "provided"
            row["status"] = "assisted"
        elif kind == "AssistancePaid":
            row["assistance_status"] = "paid"
            row["status"] = "assisted"
        elif kind == "AssistanceDeclined":
            row["assistance_status"] = d["outcome"]
        elif kind == "IncidentResolved":
            row["status"] = "resolved"
        elif kind == "IncidentClosed":
            row["status"] = "closed"
            row["closed_at"] = ts(d["occurred_at"])
        row["is_open"] = int(row["status"] in OPEN)
        cases.touch(case["migrant_id"])
        case["open_incidents"] += row["is_open"] - int(was_open)
        if kind == "IncidentReported":
            case["incidents"] += 1
        case["last_activity_at"] = later(case["last_activity_at"], ts(d["occurred_at"]))

    @staticmethod
    def new_incident(d: dict, case: dict) -> dict:
        return {
            "incident_id": d["originator_id"],
            "migrant_id": d["migrant_id"],
            "case_number": case["case_number"],
            "full_name": case["full_name"],
            "sex": case["sex"],
            "category": d["category"],
            "gbv_subtype": d["gbv_subtype"],
            "severity": d["severity"],
            "status": "reported",
            "is_open": 1,
            "country": d["country"],
            "channel": d["channel"],
            "occurred_at": ts(d["occurred_at"]),
            "reported_at": ts(d["reported_at"]),
            "recorded_at": ts(d["timestamp"]),
            "assistance_status": "none",
            "assistance_requests": 0,
            "closed_at": None,
            "last_activity_at": ts(d["timestamp"]),
            "reported_by": d["actor_id"],
        }
