"""Who holds a grant or a break-glass access to which case, until when, and
which break-glass accesses still wait for a review (migration 0010)."""

from __future__ import annotations

from collections.abc import Sequence

from projections.base import Projection, RowCache, ts
from projections.db import ReadModelDb
from projections.log import Record

COLUMNS = (
    "grant_id",
    "migrant_id",
    "officer_id",
    "kind",
    "reason",
    "given_by",
    "given_by_role",
    "given_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "supervisor_review",
    "auditor_review",
)
STARTS = {"AccessGranted": "grant", "EmergencyAccessTaken": "break_glass"}
REVIEW_COLUMN = {"supervisor": "supervisor_review", "auditor": "auditor_review"}


class AccessProjection(Projection):
    name = "access"
    rebuild_weight = 0.1
    tables = ("rm_case_access",)
    types = frozenset({*STARTS, "AccessRevoked", "EmergencyAccessReviewed"})

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        rows = RowCache(db, "rm_case_access", COLUMNS, "grant_id")
        rows.load(
            {r.originator_id for r in records if r.type not in STARTS}
            - {r.originator_id for r in records if r.type in STARTS}
        )
        for record in records:
            d, grant_id = record.data, record.originator_id
            if record.type in STARTS:
                rows.put(
                    grant_id,
                    {
                        "grant_id": grant_id,
                        "migrant_id": d["migrant_id"],
                        # Break-glass: the officer who took it is the reader.
                        "officer_id": d.get("officer_id") or d["actor_id"],
                        "kind": STARTS[record.type],
                        "reason": d["reason"],
                        "given_by": d["actor_id"],
                        "given_by_role": d["actor_role"],
                        "given_at": ts(d["timestamp"]),
                        "expires_at": ts(d["expires_at"]),
                        "revoked_at": None,
                        "revoked_by": None,
                        "supervisor_review": None,
                        "auditor_review": None,
                    },
                )
                continue
            row = rows.get(grant_id)
            if row is None:
                raise LookupError(f"{record.type} for unknown access {grant_id}")
            rows.touch(grant_id)
            if record.type == "AccessRevoked":
                row["revoked_at"] = ts(d["timestamp"])
                row["revoked_by"] = d["actor_id"]
            else:
                row[REVIEW_COLUMN[d["actor_role"]]] = d["finding"]
        rows.flush()
