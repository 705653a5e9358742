"""Money claims and social-protection coverage (issue 16; migrations 0019, 0020).

`claims` keeps one row per claim (amount claimed, recovered, outstanding,
status), one row per step or recovery (`rm_claim_entries`, the claim's
history on screen) and a small private table of who the claims are for
(`rm_claim_people`: sex and the current contract's destination, sector,
employer and agency), so statistics group claims without reading another
projection. A claim keeps the contract fields as they were when it was
opened; sex follows corrections.

The agency is kept twice: the contract's free-text `recruitment_agency`
and its registered `agency_id` (migration 0021), set by the contract or by
the one-off ContractPartiesLinked. Statistics group by the registered
agency's name, resolved at read time to the record a merged duplicate now
stands for (projections/claims_queries.py), and by the free text only for
claims whose contract is not linked.

`coverage` keeps one row per contract (migrant and cycle): insured, policy,
registration with the destination's social security; and the agreements
table (BLA / SSA per country).
"""

from __future__ import annotations

from collections.abc import Sequence

from projections.base import Projection, RowCache, ts
from projections.db import ReadModelDb
from projections.log import Record

CLAIM_COLUMNS = (
    "claim_id",
    "migrant_id",
    "incident_id",
    "basis",
    "kind",
    "currency",
    "claimed_minor",
    "recovered_minor",
    "outstanding_minor",
    "above_claimed",
    "status",
    "outcome",
    "steps",
    "last_step",
    "destination",
    "sector",
    "employer",
    "agency",
    "agency_id",
    "opened_on",
    "opened_by",
    "notes",
    "closing_notes",
    "last_activity_at",
)
ENTRY_COLUMNS = (
    "entry_id",
    "claim_id",
    "version",
    "entry",
    "step",
    "channel",
    "day",
    "amount_minor",
    "notes",
    "recorded_by",
    "recorded_at",
)
PEOPLE_COLUMNS = (
    "migrant_id",
    "sex",
    "destination",
    "sector",
    "employer",
    "agency",
    "agency_id",
)
CLAIM_TYPES = frozenset(
    {"ClaimOpened", "ClaimStepRecorded", "ClaimRecoveryRecorded", "ClaimClosed"}
)
PEOPLE_TYPES = frozenset(
    {
        "MigrantRegistered",
        "RegistrationCorrected",
        "ContractRegistered",
        "EmployerChanged",
        "ContractPartiesLinked",
    }
)


class ClaimsProjection(Projection):
    name = "claims"
    rebuild_weight = 1.5
    tables = ("rm_claim_entries", "rm_claims", "rm_claim_people")
    types = CLAIM_TYPES | PEOPLE_TYPES

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        people = RowCache(db, "rm_claim_people", PEOPLE_COLUMNS, "migrant_id")
        claims = RowCache(db, "rm_claims", CLAIM_COLUMNS, "claim_id")
        entries = RowCache(db, "rm_claim_entries", ENTRY_COLUMNS, "entry_id")
        people.load(
            {r.originator_id for r in records if r.type in PEOPLE_TYPES}
            | {r.data["migrant_id"] for r in records if r.type == "ClaimOpened"}
        )
        claims.load(
            {r.originator_id for r in records if r.type in CLAIM_TYPES}
            - {r.originator_id for r in records if r.type == "ClaimOpened"}
        )
        linked = {
            r.originator_id
            for r in records
            if r.type == "ContractPartiesLinked" and r.data.get("agency_id")
        }
        if linked:
            claims.load_where("migrant_id", linked)
        for record in records:
            if record.type == "ContractPartiesLinked":
                self.apply_link(people, claims, record)
            elif record.type in PEOPLE_TYPES:
                self.apply_person(people, record)
            else:
                self.apply_claim(people, claims, entries, record)
        people.flush()
        claims.flush()
        entries.flush()

    def apply_person(self, people: RowCache, record: Record) -> None:
        d, migrant_id = record.data, record.originator_id
        if record.type == "MigrantRegistered":
            people.put(
                migrant_id,
                {
                    "migrant_id": migrant_id,
                    "sex": d["sex"],
                    "destination": "",
                    "sector": "",
                    "employer": "",
                    "agency": "",
                    "agency_id": None,
                },
            )
            return
        row = people.get(migrant_id)
        if row is None:
            raise LookupError(f"{record.type} for unknown migrant {migrant_id}")
        if record.type == "RegistrationCorrected":
            sex = d["corrections"].get("sex")
            if not sex:
                return
            row["sex"] = sex["now"]
        elif record.type == "ContractRegistered":
            contract = d["contract"]
            row["destination"] = contract["destination_country"]
            row["sector"] = contract["sector"]
            row["employer"] = contract["employer_name"]
            row["agency"] = contract.get("recruitment_agency") or ""
            row["agency_id"] = contract.get("agency_id")
        else:
            row["employer"] = d["employer_name"]
        people.touch(migrant_id)

    @staticmethod
    def apply_link(people: RowCache, claims: RowCache, record: Record) -> None:
        """An old free-text contract linked to its registered agency: the
        person's current contract gets the id, and so do the claims opened
        under it (not yet linked, naming the same free-text agency) - the
        same contract, now known by its record."""
        agency_id, migrant_id = record.data.get("agency_id"), record.originator_id
        if not agency_id:
            return
        row = people.get(migrant_id)
        if row is None:
            raise LookupError(f"{record.type} for unknown migrant {migrant_id}")
        row["agency_id"] = agency_id
        people.touch(migrant_id)
        for claim_id, claim in claims.rows.items():
            if (
                claim["migrant_id"] == migrant_id
                and claim["agency_id"] is None
                and claim["agency"] == row["agency"]
            ):
                claim["agency_id"] = agency_id
                claims.touch(claim_id)

    def apply_claim(
        self, people: RowCache, claims: RowCache, entries: RowCache, record: Record
    ) -> None:
        d, claim_id = record.data, record.originator_id
        if record.type == "ClaimOpened":
            person = people.get(d["migrant_id"]) or {}
            amount = d["amount_claimed"]
            claims.put(
                claim_id,
                {
                    "claim_id": claim_id,
                    "migrant_id": d["migrant_id"],
                    "incident_id": d["incident_id"],
                    "basis": d["basis"],
                    "kind": d["kind"],
                    "currency": amount["currency"],
                    "claimed_minor": amount["amount_minor"],
                    "recovered_minor": 0,
                    "outstanding_minor": amount["amount_minor"],
                    "above_claimed": 0,
                    "status": "open",
                    "outcome": None,
                    "steps": 0,
                    "last_step": None,
                    "destination": d["country"],
                    "sector": person.get("sector", ""),
                    "employer": person.get("employer", ""),
                    "agency": person.get("agency", ""),
                    "agency_id": person.get("agency_id"),
                    "opened_on": d["opened_on"],
                    "opened_by": d["actor_id"],
                    "notes": d["notes"],
                    "closing_notes": None,
                    "last_activity_at": ts(d["timestamp"]),
                },
            )
            return
        row = claims.get(claim_id)
        if row is None:
            raise LookupError(f"{record.type} for unknown claim {claim_id}")
        claims.touch(claim_id)
        row["last_activity_at"] = ts(d["timestamp"])
        if record.type == "ClaimClosed":
            row["status"] = "closed"
            row["outcome"] = d["outcome"]
            row["closing_notes"] = d["notes"]
            return
        entry = {
            "entry_id": f"{claim_id}:{d['originator_version']}",
            "claim_id": claim_id,
            "version": d["originator_version"],
            "step": None,
            "channel": None,
            "amount_minor": None,
            "recorded_by": d["actor_id"],
            "recorded_at": ts(d["timestamp"]),
        }
        if record.type == "ClaimStepRecorded":
            row["steps"] += 1
            row["last_step"] = d["step"]
            entry.update(entry="step", step=d["step"], day=d["filed_on"], notes=d["notes"])
        else:
            recovered = row["recovered_minor"] + d["amount"]["amount_minor"]
            row["recovered_minor"] = recovered
            row["outstanding_minor"] = max(row["claimed_minor"] - recovered, 0)
            row["above_claimed"] = int(recovered > row["claimed_minor"])
            entry.update(
                entry="recovery",
                channel=d["channel"],
                day=d["received_on"],
                amount_minor=d["amount"]["amount_minor"],
                notes=d["reason_above_claimed"] or "",
            )
        entries.put(entry["entry_id"], entry)


COVERAGE_COLUMNS = (
    "coverage_id",
    "migrant_id",
    "cycle",
    "destination",
    "insured",
    "insurer",
    "policy_number",
    "valid_from",
    "valid_until",
    "registered",
    "scheme",
    "social_security_number",
    "registered_on",
    "last_activity_at",
)
AGREEMENT_COLUMNS = (
    "agreement_key",
    "country",
    "kind",
    "title",
    "in_force_from",
    "in_force_until",
    "set_by",
    "set_at",
)
COVERAGE_TYPES = frozenset({"InsuranceRecorded", "SocialSecurityRegistrationRecorded"})
AGREEMENT_TYPES = frozenset({"AgreementSet", "AgreementRemoved"})


class CoverageProjection(Projection):
    name = "coverage"
    rebuild_weight = 0.7
    tables = ("rm_coverage", "rm_agreements")
    types = COVERAGE_TYPES | AGREEMENT_TYPES

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        coverage = RowCache(db, "rm_coverage", COVERAGE_COLUMNS, "coverage_id")
        agreements = RowCache(db, "rm_agreements", AGREEMENT_COLUMNS, "agreement_key")
        coverage.load({r.originator_id for r in records if r.type in COVERAGE_TYPES})
        agreements.load(
            {f"{r.data['country']}:{r.data['kind']}" for r in records if r.type in AGREEMENT_TYPES}
        )
        for record in records:
            d = record.data
            if record.type in AGREEMENT_TYPES:
                key = f"{d['country']}:{d['kind']}"
                if record.type == "AgreementRemoved":
                    agreements.delete(key)
                    continue
                agreements.put(
                    key,
                    {
                        "agreement_key": key,
                        "country": d["country"],
                        "kind": d["kind"],
                        "title": d["title"],
                        "in_force_from": d["in_force_from"],
                        "in_force_until": d["in_force_until"],
                        "set_by": d["actor_id"],
                        "set_at": ts(d["timestamp"]),
                    },
                )
                continue
            key = record.originator_id
            row = coverage.get(key) or coverage.put(
                key,
                {
                    "coverage_id": key,
                    "migrant_id": d["migrant_id"],
                    "cycle": d["cycle"],
                    "destination": d["destination"],
                    "insured": 0,
                    "insurer": None,
                    "policy_number": None,
                    "valid_from": None,
                    "valid_until": None,
                    "registered": 0,
                    "scheme": None,
                    "social_security_number": None,
                    "registered_on": None,
                    "last_activity_at": None,
                },
            )
            coverage.touch(key)
            row["last_activity_at"] = ts(d["timestamp"])
            if record.type == "InsuranceRecorded":
                row.update(
                    insured=1,
                    insurer=d["insurer"],
                    policy_number=d["policy_number"],
                    valid_from=d["valid_from"],
                    valid_until=d["valid_until"],
                )
            else:
                row.update(
                    registered=1,
                    scheme=d["scheme"],
                    social_security_number=d["social_security_number"],
                    registered_on=d["registered_on"],
                )
        coverage.flush()
        agreements.flush()
