"""Who did what: every stored event's actor, role, type, aggregate and both
times, one row per log position (the auditor's index over the whole log)."""

from __future__ import annotations

from collections.abc import Sequence

from projections.base import Projection, ts
from projections.catalogue import event_type_names
from projections.db import ReadModelDb
from projections.log import Record

COLUMNS = (
    "position",
    "actor_id",
    "actor_role",
    "event_type",
    "aggregate_id",
    "recorded_at",
    "occurred_at",
)


class EveryEventType:
    """The names of every kind of event, found when first read: that imports
    every module that defines events (~0.1 s), which a command that never
    catches up the read models (`msafiri fund balances`) need not pay."""

    def __get__(self, instance: object, owner: type) -> frozenset[str]:
        # Found once, then kept on the class in this descriptor's place: the
        # runner reads `types` for every record it applies.
        names = event_type_names()
        owner.types = names  # type: ignore[attr-defined]
        return names


class ActivityProjection(Projection):
    name = "activity"
    rebuild_weight = 1.5
    tables = ("rm_activity",)
    # Every kind of event: an auditor asks about any of them.
    types = EveryEventType()

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        db.insert_many(
            "rm_activity",
            COLUMNS,
            [
                (
                    r.id,
                    r.data["actor_id"],
                    r.data["actor_role"],
                    r.type,
                    r.originator_id,
                    ts(r.data["timestamp"]),
                    ts(r.data["occurred_at"]),
                )
                for r in records
            ],
        )
