"""Read-model sums recomputed in the chain walk's one pass over the log.

`audit verify` reads every stored row once to recompute the chain; counting
the rows by type on the way costs a dictionary increment a row. Several read
models hold exactly one row per event of a kind (a case per registration, an
activity row per event, ...), so their row counts must equal those counts
up to the position each projection has reached. A row deleted or inserted by
SQL, or an event a projection skipped or applied twice, changes a count; a
*changed* value in a row does not (the sampled cases, the fund's balances and
`--full` look at values).

The read models' counts and positions are read first, in one read snapshot,
so a projection moving meanwhile is seen as of one moment; the log only
grows, so counting its rows up to those positions afterwards is fair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from projections.audit.chain import StoredRow
from projections.audit.trail import event_type
from projections.catalogue import event_type_names

# (projection, table, the event types each of which makes one row; None:
# every event type the catalogue knows).
COUNTED: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("activity", "rm_activity", None),
    ("cases", "rm_cases", frozenset({"MigrantRegistered"})),
    ("cases", "rm_incidents", frozenset({"IncidentReported"})),
    ("officers", "rm_officers", frozenset({"OfficerRegistered"})),
    ("fund", "rm_fund_members", frozenset({"MigrantRegistered"})),
    ("fund", "rm_disbursements", frozenset({"DisbursementRequested"})),
)


@dataclass
class ReadModelCounts:
    """What the read models said, as of one moment."""

    positions: dict[str, int]
    rows: dict[str, int]  # table -> rows

    @classmethod
    def read(cls, conn: Any, backend: str) -> ReadModelCounts:
        begin = "BEGIN" if backend == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ"
        conn.execute(begin)
        try:
            positions = {
                str(name): int(position)
                for name, position in conn.execute(
                    "SELECT projection, position FROM rm_tracking"
                ).fetchall()
            }
            rows = {
                table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for projection, table, _ in COUNTED
                if projection in positions
            }
        finally:
            conn.execute("COMMIT")
        return cls(positions, rows)


@dataclass
class Tally:
    """The rows passed through unchanged, counted by (topic, bucket) on the
    way: bucket i holds the rows at or before the i-th projection position
    (sorted) and after the one before, so any projection's count is a sum."""

    rows: Iterable[StoredRow]
    marks: list[int]
    counts: Counter = field(default_factory=Counter)
    # Whether every row was counted (the chain walk stops early after many
    # findings: then the counts say nothing).
    complete: bool = False

    def __iter__(self) -> Iterator[StoredRow]:
        marks, counts, bucket = self.marks, self.counts, 0
        last = len(marks)
        for row in self.rows:
            while bucket < last and row.position > marks[bucket]:
                bucket += 1
            counts[(row.topic, bucket)] += 1
            yield row
        self.complete = True

    def upto(self, position: int, types: frozenset[str] | None) -> int:
        """Events of these types (None: any the catalogue knows) at or
        before `position` (one of `marks`)."""
        bucket = self.marks.index(position)
        known = event_type_names() if types is None else types
        return sum(
            n for (topic, b), n in self.counts.items() if b <= bucket and event_type(topic) in known
        )


def tally(rows: Iterable[StoredRow], counts: ReadModelCounts) -> Tally:
    return Tally(rows, sorted(set(counts.positions.values())))


def count_problems(counted: Tally, counts: ReadModelCounts) -> list[str]:
    problems: list[str] = []
    if not counted.complete:
        return problems
    for projection, table, types in COUNTED:
        if table not in counts.rows:
            continue
        position = counts.positions[projection]
        expected = counted.upto(position, types)
        if counts.rows[table] != expected:
            what = "events" if types is None else " or ".join(sorted(types)) + " events"
            problems.append(
                f"read model {table} has {counts.rows[table]:,} rows; the log has {expected:,} "
                f"{what} up to position {position} (where the {projection} projection is): "
                "rows were deleted or added behind the projection's back, or an event was "
                "skipped or applied twice (`msafiri audit verify --full` names the rows)"
            )
    return problems


def checked_tables(counts: ReadModelCounts) -> int:
    return len(counts.rows)
