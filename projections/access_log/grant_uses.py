"""Grant uses (issue 14 item 4): after a read of a case or an incident that
the officer could make only through an access grant or a break-glass, the
log holds a second entry, "grant_use", naming which.

Asked when a batch of entries is written - in the recorder's background
thread, inside the write's own transaction - rather than when the officer
reads: the answer is the same (it is taken at the read's own time, against
the grant's expiry), and the read does not wait on two more queries.
"How the officer holds the case" is the one rule of projections/disclosure.py
(`held_through`), which masking uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from domain.officers.access import GRANT_USE
from domain.officers.sign_in import AccessEntry
from projections.disclosure import held_through

ACCESS_THROUGH = ("grant", "break_glass")


def with_grant_uses(
    execute: Callable[..., Any], entries: Sequence[AccessEntry]
) -> Sequence[AccessEntry]:
    """`entries` with a grant-use entry after each read that needed one."""
    if not any(entry.check_grant_use for entry in entries):
        return entries
    out: list[AccessEntry] = []
    for entry in entries:
        out.append(entry)
        if not entry.check_grant_use or entry.officer_id is None:
            continue
        used = _held_through(execute, entry)
        if used in ACCESS_THROUGH:
            out.append(
                replace(
                    entry,
                    action=GRANT_USE,
                    detail=f"{entry.action} through {used.replace('_', '-')} access",
                    reason=None,
                    check_grant_use=False,
                )
            )
    return out


def _held_through(execute: Callable[..., Any], entry: AccessEntry) -> str | None:
    def fetchone(sql: str, params: tuple) -> Any:
        return execute(sql, params).fetchone()

    migrant_id = entry.subject_id
    if entry.subject_kind == "incident":
        row = fetchone("SELECT migrant_id FROM rm_incidents WHERE incident_id = ?", (migrant_id,))
        migrant_id = row[0] if row else None
    if migrant_id is None:
        return None
    return held_through(fetchone, str(entry.officer_id), migrant_id, entry.at)
