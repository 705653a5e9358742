"""Writes the demo's history in the order it was recorded.

The population is built in chunks of migrants (in worker processes); each
chunk's events reach the log only once nothing earlier can still come, and
the fund's actions (ledger/demo.py) run between them at their own recorded
times. So the log's recorded times never go back, across migrants and
between the cases and the fund - what the auditors' replay and "as of"
expect of a real history.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Any, Protocol

from domain.persistence import EventStore

WRITE_EVERY = 2_000  # stored events per transaction when nothing else is due


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
        # one aggregate's events stay in version order.
        self._waiting: list[tuple[datetime, int, Any]] = []
        self._arrivals = 0
        self._ready: list[Any] = []

    def add(self, timed_events: list[tuple[datetime, Any]], cues) -> None:
        for recorded_at, stored in timed_events:
            heapq.heappush(self._waiting, (recorded_at, self._arrivals, stored))
            self._arrivals += 1
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

    def _release(self, until: datetime | None, inclusive: bool = False) -> None:
        """Move the events recorded before `until` (or at it) to be written."""
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
