"""Writes the demo's history in the order it was recorded.

The population is built in chunks of migrants (in worker processes); each
chunk's events reach the log only once nothing earlier can still come, and
the fund's actions (ledger/demo.py) run between them at their own recorded
times. So the log's recorded times never go back, across migrants and
between the cases and the fund - what the auditors' replay and "as of"
expect of a real history.

A migrant's story is built whole when they register, so most of a chunk's
events are months or years ahead of what is being written: at any time,
roughly the stories of the last two years wait - about 1.5 events a
migrant of the whole population at its peak (measured: 30,000 stored
events at 20,000 migrants, ~1 KB each in memory). Only the events due
within `HORIZON` of what is being written wait in memory; the later ones
wait on disk (a private temporary SQLite database, deleted when closed)
and come back as the writing reaches them. Memory then depends on the
weeks being written, not on the population (docs/benchmarks.md, session 11).
"""

from __future__ import annotations

import heapq
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.persistence import EventStore

WRITE_EVERY = 2_000  # stored events per transaction when nothing else is due
# Events recorded this far beyond what is being written wait on disk.
HORIZON = timedelta(days=7)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class FundActions(Protocol):
    """What the timeline needs of the fund side of the demo."""

    def cue(self, at: datetime, kind: str, details: tuple) -> None: ...

    def next_time(self) -> datetime | None: ...

    def run_next(self) -> None: ...


class Timeline:
    def __init__(self, store: EventStore, fund: FundActions | None = None):
        self._store = store
        self._fund = fund
        # (recorded at, arrival order, stored event): the order ties keep, so
        # one aggregate's events stay in version order. Everything recorded
        # before `_horizon` is here; later events may be in `_later`.
        self._waiting: list[tuple[datetime, int, Any]] = []
        self._arrivals = 0
        self._ready: list[Any] = []
        self._horizon: datetime | None = None  # None: nothing goes to disk
        self._later: _Later | None = None

    def add(self, timed_events: list[tuple[datetime, Any]], cues) -> None:
        horizon, spilled = self._horizon, []
        for recorded_at, stored in timed_events:
            if horizon is not None and recorded_at >= horizon:
                spilled.append((recorded_at, self._arrivals, stored))
            else:
                heapq.heappush(self._waiting, (recorded_at, self._arrivals, stored))
            self._arrivals += 1
        if spilled:
            if self._later is None:
                self._later = _Later()
            self._later.put(spilled)
        if self._fund is not None:
            for cue in cues:
                self._fund.cue(*cue)

    def advance(self, until: datetime | None) -> None:
        """Write everything recorded before `until` (None: everything left),
        running each fund action once the events before it are stored."""
        while True:
            due = self._fund.next_time() if self._fund is not None else None
            if due is not None and (until is None or due < until):
                self._release(due, inclusive=True)
                self._write()
                assert self._fund is not None
                self._fund.run_next()
                continue
            self._release(until)
            if until is None:
                self._write()
            return

    def close(self) -> None:
        """Delete what waits on disk (nothing is left after `advance(None)`)."""
        if self._later is not None:
            self._later.close()
            self._later = None

    def _reach(self, until: datetime | None) -> None:
        """Have every event recorded before `until` (at it too) in memory,
        and those up to `HORIZON` beyond it: later ones go to disk from now."""
        if until is None:
            self._horizon = None
            if self._later is not None:
                for entry in self._later.take(None):
                    heapq.heappush(self._waiting, entry)
            return
        if self._horizon is not None and until < self._horizon:
            return
        self._horizon = until + HORIZON
        if self._later is not None:
            for entry in self._later.take(self._horizon):
                heapq.heappush(self._waiting, entry)

    def _release(self, until: datetime | None, inclusive: bool = False) -> None:
        """Move the events recorded before `until` (or at it) to be written."""
        self._reach(until)
        waiting = self._waiting
        while waiting and (
            until is None or waiting[0][0] < until or (inclusive and waiting[0][0] == until)
        ):
            self._ready.append(heapq.heappop(waiting)[2])
            if len(self._ready) >= WRITE_EVERY:
                self._write()

    def _write(self) -> None:
        if self._ready:
            self._store.recorder.insert_events(self._ready)
            self._ready = []


class _Later:
    """Stored events waiting on disk, by (recorded at, arrival order): a
    private temporary SQLite database (the empty file name), which SQLite
    keeps in its page cache until that fills and deletes when closed."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE later (at INTEGER, arrival INTEGER, id BLOB, version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (at, arrival))"
        )

    def put(self, entries: list[tuple[datetime, int, StoredEvent]]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO later VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    (at - _EPOCH) // _MICROSECOND,
                    arrival,
                    s.originator_id.bytes if isinstance(s.originator_id, UUID) else s.originator_id,
                    s.originator_version,
                    s.topic,
                    s.state,
                )
                for at, arrival, s in entries
            ],
        )
        self._db.execute("COMMIT")

    def take(self, before: datetime | None) -> list[tuple[datetime, int, StoredEvent]]:
        """Remove and return the events recorded before `before` (None: all)."""
        where, params = "", ()
        if before is not None:
            where, params = " WHERE at < ?", ((before - _EPOCH) // _MICROSECOND,)
        rows = self._db.execute(
            f"SELECT at, arrival, id, version, topic, state FROM later{where}", params
        ).fetchall()
        if rows:
            self._db.execute(f"DELETE FROM later{where}", params)
        intern = sys.intern
        return [
            (
                _EPOCH + at * _MICROSECOND,
                arrival,
                StoredEvent(
                    originator_id=UUID(bytes=oid) if isinstance(oid, bytes) else oid,
                    originator_version=version,
                    topic=intern(topic),
                    state=state,
                ),
            )
            for at, arrival, oid, version, topic, state in rows
        ]

    def close(self) -> None:
        self._db.close()
