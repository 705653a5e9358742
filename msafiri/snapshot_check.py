"""`audit verify` on the fund's book snapshots (ledger/snapshot.py).

A snapshot is a cache the ledger trusts when it starts: a fresh process
reads the book's latest snapshot and only the events after it. So a
snapshot row written or changed by SQL must not pass unseen. Every row of
the snapshot table must open with the key (sealed like an event, bound to
its aggregate id, version and topic), be a book snapshot, and equal the
book replayed from the log to its version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from ledger.book import Book
from ledger.snapshot import BookSnapshot
from msafiri.bootstrap import connector

TOPIC = get_topic(BookSnapshot)
# What reading back a bad row raises (EventForged is a ValueError).
UNREADABLE = (ValueError, TypeError, KeyError, AssertionError)


@dataclass(frozen=True)
class BadSnapshot:
    """One bad row of the snapshot table: its id and version as stored, and
    why (the words `audit verify` prints after them)."""

    originator_id: UUID
    originator_version: int
    reason: str

    def __str__(self) -> str:
        return f"book snapshot {self.originator_id}/{self.originator_version}: {self.reason}"


def stored_snapshots(system: Any, audit: Any = None) -> list[StoredEvent]:
    """Every row of the snapshot table, read by SQL (whatever its id), on
    `audit`'s connection (default: the system's audit store)."""
    snapshots = system.ledger.snapshots
    if snapshots is None:
        return []
    table = snapshots.recorder.events_table_name
    conn = (audit or system.audit).connect()
    try:
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {table} "
            "ORDER BY originator_id, originator_version"
        ).fetchall()
    finally:
        conn.close()
    return [
        StoredEvent(
            originator_id=UUID(str(row[0])),
            originator_version=int(row[1]),
            topic=row[2],
            state=bytes(row[3]),
        )
        for row in rows
    ]


def delete_snapshot_rows(system: Any, rows: Iterable[tuple[UUID, int]]) -> int:
    """Delete exactly these rows of the snapshot table (id and version), in
    one transaction: the erasure's snapshots that name a person, a repair's
    bad rows. Returns how many went (fewer if another process got there first)."""
    rows = list(rows)
    snapshots = system.ledger.snapshots
    if snapshots is None or not rows:
        return 0
    table = snapshots.recorder.events_table_name
    sqlite = system.database.backend == "sqlite"
    if sqlite:
        # The library stores the id as 32 hex digits; a row inserted by SQL
        # may spell it with dashes or in capitals (stored_snapshots reads any).
        where = "lower(replace(originator_id, '-', '')) = ? AND originator_version = ?"
    else:
        where = "originator_id = %s AND originator_version = %s"
    deleted = 0
    conn = connector(system.settings, system.database)()
    try:
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
        for originator_id, version in rows:
            key: Any = originator_id.hex if sqlite else originator_id
            cursor = conn.execute(f"DELETE FROM {table} WHERE {where}", (key, version))
            deleted += max(cursor.rowcount, 0)
        conn.execute("COMMIT") if sqlite else conn.commit()
    finally:
        conn.close()
    return deleted


class SnapshotCheck:
    """Reads the snapshot rows first, then is fed the book's replay
    (`each`, after every event) and compares at each snapshot's version."""

    def __init__(self, system: Any, book_id: UUID, audit: Any = None):
        self.book_id = book_id
        self.bad: list[BadSnapshot] = []
        self.wanted: dict[int, dict] = {}
        self.checked = 0
        mapper = system.ledger.snapshots.mapper if system.ledger.snapshots else None
        for row in stored_snapshots(system, audit):
            where = (row.originator_id, row.originator_version)
            if row.topic != TOPIC:
                self.bad.append(BadSnapshot(*where, f"topic {row.topic!r} is not a book snapshot"))
                continue
            try:
                snapshot = mapper.to_domain_event(row)  # authenticates, then validates
            except UNREADABLE as error:
                reason = " ".join(str(error).split())[:200] or type(error).__name__
                self.bad.append(
                    BadSnapshot(*where, f"cannot be read back ({reason}); it was forged")
                )
                continue
            if (snapshot.originator_id, snapshot.originator_version) != where:
                self.bad.append(
                    BadSnapshot(
                        *where,
                        f"holds the state of {snapshot.originator_id}/"
                        f"{snapshot.originator_version}; it was copied",
                    )
                )
            elif row.originator_id != book_id:
                self.bad.append(BadSnapshot(*where, "no book of this fund has that id"))
            else:
                self.wanted[row.originator_version] = plain(snapshot.state)

    @property
    def problems(self) -> list[str]:
        """The bad rows as `audit verify` lists them."""
        return [str(bad) for bad in self.bad]

    def each(self) -> Callable[[Book], None]:
        def compare(book: Book) -> None:
            state = self.wanted.pop(book.version, None)
            if state is None:
                return
            self.checked += 1
            replayed = plain(BookSnapshot.take(book).state)
            keys = replayed.keys() | state.keys()
            differ = sorted(k for k in keys if replayed.get(k) != state.get(k))
            if differ:
                self.bad.append(
                    BadSnapshot(
                        self.book_id,
                        book.version,
                        f"{', '.join(differ)} differ from the book replayed from the log "
                        "to that version; a fresh process would start from it",
                    )
                )

        return compare

    def finish(self, head: int) -> list[str]:
        for version in sorted(self.wanted):
            self.bad.append(
                BadSnapshot(
                    self.book_id,
                    version,
                    f"the book's log ends at version {head}; no such book was ever stored",
                )
            )
        self.wanted.clear()
        return self.problems


def plain(state: dict) -> dict:
    """As JSON would give it back (tuples as lists, keys as strings)."""
    return orjson.loads(orjson.dumps(state))
