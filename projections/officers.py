"""Officers for display: who an actor id is (never for signing in)."""

from __future__ import annotations

from collections.abc import Sequence

from projections.base import Projection, RowCache
from projections.db import ReadModelDb
from projections.log import Record

COLUMNS = ("officer_id", "username", "full_name", "station", "roles", "active")


class OfficersProjection(Projection):
    name = "officers"
    rebuild_weight = 0.1
    tables = ("rm_officers",)
    types = frozenset({"OfficerRegistered", "RoleGranted", "RoleRevoked", "OfficerDeactivated"})

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        officers = RowCache(db, "rm_officers", COLUMNS, "officer_id")
        officers.load(
            {r.originator_id for r in records if r.type != "OfficerRegistered"}
            - {r.originator_id for r in records if r.type == "OfficerRegistered"}
        )
        for record in records:
            d, officer_id = record.data, record.originator_id
            if record.type == "OfficerRegistered":
                officers.put(
                    officer_id,
                    {
                        "officer_id": officer_id,
                        "username": d["username"],
                        "full_name": d["full_name"],
                        "station": d["station"],
                        "roles": ",".join(sorted(d["roles"])),
                        "active": 1,
                    },
                )
                continue
            row = officers.get(officer_id)
            if row is None:
                raise LookupError(f"{record.type} for unknown officer {officer_id}")
            officers.touch(officer_id)
            roles = set(filter(None, row["roles"].split(",")))
            if record.type == "RoleGranted":
                roles.add(d["role"])
            elif record.type == "RoleRevoked":
                roles.discard(d["role"])
            elif record.type == "OfficerDeactivated":
                row["active"] = 0
            row["roles"] = ",".join(sorted(roles))
        officers.flush()
