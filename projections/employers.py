"""The employer and agency registries as read models (migration 0017):
records with their licence and watchlist status, the placements made with
them, each case's current employer and agency, and the incidents reported
while a migrant worked for them - category, severity and status only.

A merged duplicate keeps its row; `canonical_id` names the record it
stands for now, so history and search count both under the survivor.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from domain.employers.vocabulary import name_key
from projections.base import Projection, RowCache, ts
from projections.db import ReadModelDb
from projections.log import Record

PARTY_COLUMNS = (
    "party_id",
    "party_kind",
    "name",
    "name_key",
    "kind",
    "country",
    "city",
    "sector",
    "registration_number",
    "licence_number",
    "licence_valid_from",
    "licence_valid_until",
    "licence_status",
    "licence_reason",
    "watchlist",
    "listing_reason",
    "proposed_by",
    "proposal_reason",
    "proposal_incidents",
    "canonical_id",
    "registered_at",
    "version",
)
PLACEMENT_COLUMNS = (
    "placement_id",
    "migrant_id",
    "employer_id",
    "agency_id",
    "destination",
    "started_at",
)
CONTRACT_COLUMNS = ("migrant_id", "employer_id", "agency_id", "placement_id")
INCIDENT_COLUMNS = (
    "incident_id",
    "migrant_id",
    "employer_id",
    "agency_id",
    "category",
    "severity",
    "is_open",
    "reported_at",
)

STARTS = frozenset({"EmployerRegistered", "AgencyRegistered"})
PARTY_TYPES = STARTS | {
    "AgencyLicenceRenewed",
    "AgencyLicenceRevoked",
    "AgencyLicenceReinstated",
    "MergedIntoRecord",
    "DuplicateAbsorbed",
    "WatchlistListingProposed",
    "WatchlistDelistingProposed",
    "WatchlistListed",
    "WatchlistDelisted",
    "WatchlistChangeRejected",
}
CASE_TYPES = frozenset(
    {"ContractRegistered", "EmployerChanged", "ContractPartiesLinked", "CycleStarted"}
)
INCIDENT_TYPES = frozenset(
    {"IncidentReported", "IncidentAssessed", "IncidentResolved", "IncidentClosed"}
)


class EmployersProjection(Projection):
    name = "employers"
    rebuild_weight = 1.4
    tables = ("rm_party_incidents", "rm_party_contracts", "rm_placements", "rm_parties")
    types = PARTY_TYPES | CASE_TYPES | INCIDENT_TYPES

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        parties = RowCache(db, "rm_parties", PARTY_COLUMNS, "party_id")
        placements = RowCache(db, "rm_placements", PLACEMENT_COLUMNS, "placement_id")
        contracts = RowCache(db, "rm_party_contracts", CONTRACT_COLUMNS, "migrant_id")
        incidents = RowCache(db, "rm_party_incidents", INCIDENT_COLUMNS, "incident_id")
        started = {r.originator_id for r in records if r.type in STARTS}
        parties.load({r.originator_id for r in records if r.type in PARTY_TYPES} - started)
        merged = {r.originator_id for r in records if r.type == "MergedIntoRecord"}
        if merged:
            parties.load_where("canonical_id", merged)
        migrants = {r.originator_id for r in records if r.type in CASE_TYPES}
        migrants |= {r.data["migrant_id"] for r in records if r.type == "IncidentReported"}
        contracts.load(migrants)
        placements.load({row["placement_id"] for row in contracts.rows.values()})
        reported = {r.originator_id for r in records if r.type == "IncidentReported"}
        incidents.load({r.originator_id for r in records if r.type in INCIDENT_TYPES} - reported)
        for record in records:
            if record.type in PARTY_TYPES:
                self.apply_party(parties, record)
            elif record.type in CASE_TYPES:
                self.apply_case(placements, contracts, record)
            else:
                self.apply_incident(contracts, incidents, record)
        parties.flush()
        placements.flush()
        contracts.flush()
        incidents.flush()

    @staticmethod
    def apply_party(parties: RowCache, record: Record) -> None:
        d, kind, party_id = record.data, record.type, record.originator_id
        if kind in STARTS:
            agency = kind == "AgencyRegistered"
            name = d["agency_name"] if agency else d.get("company_name") or d["household_name"]
            parties.put(
                party_id,
                {
                    "party_id": party_id,
                    "party_kind": "agency" if agency else "employer",
                    "name": name,
                    "name_key": name_key(name),
                    "kind": None if agency else d["kind"],
                    "country": d["licensing_country"] if agency else d["country"],
                    "city": None if agency else d["city"],
                    "sector": None if agency else d["sector"],
                    "registration_number": None if agency else d.get("registration_number"),
                    "licence_number": d["licence_number"] if agency else None,
                    "licence_valid_from": d["licence_valid_from"] if agency else None,
                    "licence_valid_until": d["licence_valid_until"] if agency else None,
                    "licence_status": "active" if agency else None,
                    "licence_reason": None,
                    "watchlist": "not_listed",
                    "listing_reason": None,
                    "proposed_by": None,
                    "proposal_reason": None,
                    "proposal_incidents": None,
                    "canonical_id": party_id,
                    "registered_at": ts(d["timestamp"]),
                    "version": d["originator_version"],
                },
            )
            return
        row = parties.get(party_id)
        if row is None:
            raise LookupError(f"{kind} for unknown employer or agency {party_id}")
        parties.touch(party_id)
        row["version"] = d["originator_version"]
        if kind == "AgencyLicenceRenewed":
            row.update(licence_valid_until=d["valid_until"], licence_status="active")
            row["licence_reason"] = None
        elif kind == "AgencyLicenceRevoked":
            row.update(licence_status=d["status"], licence_reason=d["reason"])
        elif kind == "AgencyLicenceReinstated":
            row.update(licence_status="active", licence_reason=None)
        elif kind == "MergedIntoRecord":
            into = d["into_id"]
            for other_id, other in list(parties.rows.items()):
                if other["canonical_id"] == party_id:
                    other["canonical_id"] = into
                    parties.touch(other_id)
        elif kind in ("WatchlistListingProposed", "WatchlistDelistingProposed"):
            row.update(
                watchlist="listing_proposed"
                if kind == "WatchlistListingProposed"
                else "delisting_proposed",
                proposed_by=d["actor_id"],
                proposal_reason=d["reason"],
                proposal_incidents=orjson.dumps(d.get("incident_ids", [])).decode(),
            )
        elif kind in ("WatchlistListed", "WatchlistDelisted", "WatchlistChangeRejected"):
            if kind == "WatchlistListed":
                row.update(watchlist="listed", listing_reason=d["reason"])
            elif kind == "WatchlistDelisted":
                row.update(watchlist="not_listed", listing_reason=None)
            else:
                was = row["watchlist"]
                row["watchlist"] = "listed" if was == "delisting_proposed" else "not_listed"
            row.update(proposed_by=None, proposal_reason=None, proposal_incidents=None)

    @staticmethod
    def apply_case(placements: RowCache, contracts: RowCache, record: Record) -> None:
        d, kind, migrant_id = record.data, record.type, record.originator_id
        current = contracts.get(migrant_id)
        if kind == "CycleStarted":
            if current is not None:
                contracts.delete(migrant_id)
            return
        placement_id = f"{migrant_id}:{d['originator_version']}"
        if kind == "ContractRegistered":
            contract = d["contract"]
            employer_id, agency_id = contract.get("employer_id"), contract.get("agency_id")
            destination = contract["destination_country"]
        elif current is None:  # a change or link on a contract we never saw
            raise LookupError(f"{kind} for a case without a contract: {migrant_id}")
        elif kind == "EmployerChanged":
            employer_id, agency_id = d.get("employer_id"), current["agency_id"]
            destination = placements.rows[current["placement_id"]]["destination"]
        else:  # ContractPartiesLinked: the current placement gets its ids
            placement = placements.rows[current["placement_id"]]
            for name in ("employer_id", "agency_id"):
                if d.get(name) is not None:
                    placement[name] = current[name] = d[name]
            placements.touch(current["placement_id"])
            contracts.touch(migrant_id)
            return
        placements.put(
            placement_id,
            {
                "placement_id": placement_id,
                "migrant_id": migrant_id,
                "employer_id": employer_id,
                "agency_id": agency_id,
                "destination": destination,
                "started_at": ts(d["occurred_at"]),
            },
        )
        row = {
            "migrant_id": migrant_id,
            "employer_id": employer_id,
            "agency_id": agency_id,
            "placement_id": placement_id,
        }
        if current is None:
            contracts.put(migrant_id, row)
        else:
            current.update(row)
            contracts.touch(migrant_id)

    @staticmethod
    def apply_incident(contracts: RowCache, incidents: RowCache, record: Record) -> None:
        d, kind, incident_id = record.data, record.type, record.originator_id
        if kind == "IncidentReported":
            current = contracts.get(d["migrant_id"]) or {}
            incidents.put(
                incident_id,
                {
                    "incident_id": incident_id,
                    "migrant_id": d["migrant_id"],
                    "employer_id": current.get("employer_id"),
                    "agency_id": current.get("agency_id"),
                    "category": d["category"],
                    "severity": d["severity"],
                    "is_open": 1,
                    "reported_at": ts(d["reported_at"]),
                },
            )
            return
        row = incidents.get(incident_id)
        if row is None:
            raise LookupError(f"{kind} for unknown incident {incident_id}")
        incidents.touch(incident_id)
        if kind == "IncidentAssessed":
            row["severity"] = d["severity"]
        else:
            row["is_open"] = 0
