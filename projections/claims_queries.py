"""The read API of money claims, coverage and agreements (issue 16): a small
read class of its own beside `Queries` (reached as `queries.claims`), going
through the one need-to-know policy (projections/disclosure.py) for the
words officers typed on claims of restricted incidents.

    q = read_models.queries.claims
    q.for_case(viewer, migrant_id)      # claims of a case, newest first
    q.entries(viewer, claim_id)         # its steps and recoveries, in order
    q.coverage(migrant_id)              # coverage per contract, with BLA / SSA
    q.agreements()                      # the reference table
    q.claim_figures(by="destination")   # per value, sex, currency (statistics)
    q.coverage_figures()                # per destination and sex (statistics)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from domain.values import utcnow
from domain.viewer import Viewer
from projections.disclosure import MASK

if TYPE_CHECKING:
    from projections.queries import Queries

# What claim statistics may be grouped by: columns of rm_claims (the
# contract as it was when the claim was opened). Agency is the registered
# agency's name - the record a merged duplicate now stands for (`ag`, see
# claim_figures) - and the contract's free text only where it is not linked.
# Not by employer: a household employer is a private person, and the
# contract's employer name is free text that may name one. Per employer, use
# `statistics placements --by employer` (households in one row) or the
# employer's history.
CLAIM_BY = {
    "destination": "c.destination",
    "sector": "c.sector",
    "agency": "COALESCE(ag.name, c.agency)",
    "kind": "c.kind",
}


@dataclass(frozen=True)
class ClaimRow:
    claim_id: str
    migrant_id: str
    incident_id: str | None
    incident_category: str | None  # None: owed on return (no incident)
    basis: str  # incident or return
    kind: str
    currency: str
    claimed_minor: int
    recovered_minor: int
    outstanding_minor: int
    above_claimed: bool
    status: str  # open or closed
    outcome: str | None
    steps: int
    last_step: str | None
    destination: str
    sector: str
    employer: str
    agency: str
    opened_on: str
    opened_by: str
    notes: str
    closing_notes: str | None
    last_activity_at: str


@dataclass(frozen=True)
class ClaimEntry:
    entry_id: str
    claim_id: str
    version: int
    entry: str  # step or recovery
    step: str | None
    channel: str | None
    day: str
    amount_minor: int | None
    notes: str
    recorded_by: str
    recorded_at: str


@dataclass(frozen=True)
class CoverageRow:
    migrant_id: str
    cycle: int
    destination: str
    insured: bool
    insurer: str | None
    policy_number: str | None
    valid_from: str | None
    valid_until: str | None
    registered: bool
    scheme: str | None
    social_security_number: str | None
    registered_on: str | None
    bla: str | None  # the agreement's title when one with the destination is in force
    ssa: str | None


@dataclass(frozen=True)
class AgreementRow:
    country: str
    kind: str
    title: str
    in_force_from: str
    in_force_until: str | None


CLAIM_SELECT = (
    "SELECT c.claim_id, c.migrant_id, c.incident_id, i.category, c.basis, c.kind, c.currency,"
    " c.claimed_minor, c.recovered_minor, c.outstanding_minor, c.above_claimed, c.status,"
    " c.outcome, c.steps, c.last_step, c.destination, c.sector, c.employer, c.agency,"
    " c.opened_on, c.opened_by, c.notes, c.closing_notes, c.last_activity_at"
    " FROM rm_claims c LEFT JOIN rm_incidents i ON i.incident_id = c.incident_id"
)


def _claim(row: tuple) -> ClaimRow:
    values = list(row)
    values[10] = bool(values[10])
    return ClaimRow(*values)


class ClaimReads:
    def __init__(self, queries: Queries):
        self._queries = queries

    @property
    def _db(self):
        return self._queries.db

    # --- claims ---------------------------------------------------------------

    def for_case(self, viewer: Viewer, migrant_id: str) -> list[ClaimRow]:
        rows = self._db.fetchall(
            f"{CLAIM_SELECT} WHERE c.migrant_id = ? ORDER BY c.opened_on DESC, c.claim_id",
            (str(migrant_id),),
        )
        return self._disclosed(viewer, [_claim(r) for r in rows])

    def get(self, viewer: Viewer, claim_id: str) -> ClaimRow | None:
        row = self._db.fetchone(f"{CLAIM_SELECT} WHERE c.claim_id = ?", (str(claim_id),))
        return self._disclosed(viewer, [_claim(row)])[0] if row else None

    def for_incident(self, viewer: Viewer, incident_id: str) -> list[ClaimRow]:
        rows = self._db.fetchall(
            f"{CLAIM_SELECT} WHERE c.incident_id = ? ORDER BY c.opened_on, c.claim_id",
            (str(incident_id),),
        )
        return self._disclosed(viewer, [_claim(r) for r in rows])

    def entries(self, viewer: Viewer, claim_id: str) -> list[ClaimEntry]:
        claim = self.get(viewer, claim_id)
        if claim is None:
            return []
        rows = [
            ClaimEntry(*r)
            for r in self._db.fetchall(
                "SELECT entry_id, claim_id, version, entry, step, channel, day, amount_minor,"
                " notes, recorded_by, recorded_at FROM rm_claim_entries WHERE claim_id = ?"
                " ORDER BY version",
                (str(claim_id),),
            )
        ]
        if claim.notes == MASK:  # the claim's words are masked: so are its entries'
            rows = [replace(r, notes=MASK) if r.notes else r for r in rows]
        return rows

    def _disclosed(self, viewer: Viewer, rows: list[ClaimRow]) -> list[ClaimRow]:
        return self._queries.disclosure.claims(viewer, rows)

    # --- coverage -------------------------------------------------------------

    def agreements(self) -> list[AgreementRow]:
        return [
            AgreementRow(*r)
            for r in self._db.fetchall(
                "SELECT country, kind, title, in_force_from, in_force_until FROM rm_agreements"
                " ORDER BY country, kind"
            )
        ]

    def agreements_in_force(self) -> dict[tuple[str, str], str]:
        """(country, kind) -> title, for agreements in force today."""
        today = utcnow().date().isoformat()
        return {
            (a.country, a.kind): a.title
            for a in self.agreements()
            if a.in_force_from <= today and (a.in_force_until is None or a.in_force_until >= today)
        }

    def coverage(self, migrant_id: str) -> list[CoverageRow]:
        """Coverage per contract (cycle) of a case, latest first; the BLA / SSA
        columns say which agreements with the destination are in force today."""
        in_force = self.agreements_in_force()
        rows = self._db.fetchall(
            "SELECT migrant_id, cycle, destination, insured, insurer, policy_number, valid_from,"
            " valid_until, registered, scheme, social_security_number, registered_on"
            " FROM rm_coverage WHERE migrant_id = ? ORDER BY cycle DESC",
            (str(migrant_id),),
        )
        return [
            CoverageRow(
                r[0],
                r[1],
                r[2],
                bool(r[3]),
                *r[4:8],
                bool(r[8]),
                *r[9:12],
                in_force.get((r[2], "bla")),
                in_force.get((r[2], "ssa")),
            )
            for r in rows
        ]

    # --- statistics -----------------------------------------------------------

    def claim_figures(self, by: str) -> list[dict]:
        """Claims per (value of `by`, sex, currency, incident category): count,
        open, claimed, recovered and outstanding minor units."""
        column = CLAIM_BY[by]
        rows = self._db.fetchall(
            f"SELECT {column}, p.sex, c.currency, i.category, count(*),"
            " sum(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END),"
            " sum(c.claimed_minor), sum(c.recovered_minor), sum(c.outstanding_minor)"
            " FROM rm_claims c JOIN rm_claim_people p ON p.migrant_id = c.migrant_id"
            " LEFT JOIN rm_incidents i ON i.incident_id = c.incident_id"
            " LEFT JOIN rm_parties a ON a.party_id = c.agency_id"
            " LEFT JOIN rm_parties ag ON ag.party_id = a.canonical_id"
            f" GROUP BY {column}, p.sex, c.currency, i.category"
        )
        keys = ("value", "sex", "currency", "category", "claims", "open")
        return [
            {
                **dict(zip(keys, r[:6], strict=True)),
                "claimed_minor": int(r[6]),
                "recovered_minor": int(r[7]),
                "outstanding_minor": int(r[8]),
            }
            for r in rows
        ]

    def coverage_figures(self) -> list[dict]:
        """Per destination and sex: migrants with a contract there in their
        current cycle (placements), how many are insured and registered with
        social security under it, and how many go where an SSA is in force."""
        ssa = {country for country, kind in self.agreements_in_force() if kind == "ssa"}
        rows = self._db.fetchall(
            "SELECT c.destination, c.sex, count(*),"
            " sum(CASE WHEN v.insured = 1 THEN 1 ELSE 0 END),"
            " sum(CASE WHEN v.registered = 1 THEN 1 ELSE 0 END)"
            " FROM rm_cases c LEFT JOIN rm_coverage v"
            " ON v.migrant_id = c.migrant_id AND v.cycle = c.cycle"
            " WHERE c.destination <> '' GROUP BY c.destination, c.sex"
        )
        return [
            {
                "destination": d,
                "sex": sex,
                "placements": int(n),
                "insured": int(insured or 0),
                "registered": int(registered or 0),
                "under_ssa": int(n) if d in ssa else 0,
            }
            for d, sex, n, insured, registered in rows
        ]
