"""Turn what an officer types for a record into its id.

Officers quote a case by its number (`MS-OLX42-NIJBR`) and an incident or a
disbursement by the first characters of its id (`3f2a9c1e`), as the screens
show them, and an officer by their username. Each lookup is one range scan
of a primary-key index, however many rows the table holds (officers: a few
hundred rows, read by username).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from projections.db import ReadModelDb
from projections.terms import compact

# Fewer characters than this would match too many records to be a reference.
PREFIX_MIN = 6
_HEX = re.compile(r"^[0-9a-f-]+$")


class ReferenceNotFound(LookupError):
    """Nothing, or more than one record, answers to the reference; the
    message says which and what to type instead."""


@dataclass(frozen=True)
class Kind:
    noun: str
    table: str
    column: str


CASE = Kind("case", "rm_cases", "migrant_id")
INCIDENT = Kind("incident", "rm_incidents", "incident_id")
DISBURSEMENT = Kind("disbursement", "rm_disbursements", "disbursement_id")
ACCESS = Kind("access grant", "rm_case_access", "grant_id")
OFFICER = Kind("officer", "rm_officers", "officer_id")
# Employers and agencies (issue 16) share one table.
PARTY = Kind("employer or agency", "rm_parties", "party_id")
CLAIM = Kind("claim", "rm_claims", "claim_id")  # issue 16
KINDS = {
    "migrant_id": CASE,
    "incident_id": INCIDENT,
    "disbursement_id": DISBURSEMENT,
    "grant_id": ACCESS,
    "officer_id": OFFICER,
    "employer_id": PARTY,
    "agency_id": PARTY,
    "party_id": PARTY,
    "into_id": PARTY,
    "claim_id": CLAIM,
}


def resolve(db: ReadModelDb, kind: Kind, text: str) -> str:
    """The id of the one record `text` names: a whole id, a case number (cases),
    a username (officers) or an id prefix of at least PREFIX_MIN characters."""
    key = text.strip().lower()
    try:
        return str(UUID(key))
    except ValueError:
        pass
    if kind is OFFICER:
        row = db.fetchone("SELECT officer_id FROM rm_officers WHERE username = ?", (key,))
        if row is None:
            raise ReferenceNotFound(f"no officer has the username {text.strip()}")
        return str(row[0])
    if kind is CASE and compact(key).startswith("ms"):
        row = db.fetchone(
            "SELECT migrant_id FROM rm_case_search WHERE term = ? LIMIT 1", (compact(key),)
        )
        if row is None:
            raise ReferenceNotFound(f"no case has the number {text.strip()}")
        return str(row[0])
    if len(key) < PREFIX_MIN or not _HEX.match(key):
        shown = "a case number (MS-…) or " if kind is CASE else ""
        raise ReferenceNotFound(
            f"give {shown}the {kind.noun}'s id or at least its first {PREFIX_MIN} characters"
        )
    # Ids are stored in their canonical text form, so a prefix is a range of the
    # primary key. The range uses the first 8 characters only (hex digits, no
    # dash): hex digits sort alike under every collation, a dash does not.
    head = key[:8]
    rows = db.fetchall(
        f"SELECT {kind.column} FROM {kind.table} WHERE {kind.column} >= ? "
        f"AND {kind.column} < ? ORDER BY {kind.column} LIMIT 50",
        (head, head + "g"),
    )
    found = [str(row[0]) for row in rows if str(row[0]).startswith(key)][:2]
    if not found:
        raise ReferenceNotFound(f"no {kind.noun} id starts with {key}")
    if len(found) > 1:
        raise ReferenceNotFound(f"more than one {kind.noun} id starts with {key}; type more of it")
    return found[0]
