"""The demo's timeline keeps only the weeks being written in memory (later
events wait on disk) and writes the same events in the same order as when
everything waited in memory (docs/benchmarks.md, session 11)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from uuid import UUID

from eventsourcing.persistence import StoredEvent

import msafiri.demo.timeline as timeline_module
from msafiri.demo.timeline import Timeline


class _Fund:
    """Runs an action every 10 days, as the fund's agenda would."""

    def __init__(self, start: datetime, end: datetime, written: list):
        self.due = [start + timedelta(days=d) for d in range(0, (end - start).days, 10)]
        self.written = written

    def cue(self, at, kind, details) -> None:
        pass

    def next_time(self):
        return self.due[0] if self.due else None

    def run_next(self) -> None:
        self.written.append(("fund", self.due.pop(0)))


def _run(horizon: timedelta, monkeypatch) -> tuple[list, Timeline]:
    monkeypatch.setattr(timeline_module, "HORIZON", horizon)
    rng = random.Random(7)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    written: list = []
    store = SimpleNamespace(
        recorder=SimpleNamespace(insert_events=lambda rows: written.extend(rows))
    )
    timeline = Timeline(store, _Fund(start, start + timedelta(days=900), written))
    version = 0
    for chunk in range(30):
        first = start + timedelta(days=chunk * 20)
        timed = []
        for _ in range(50):
            # Stories reach up to two years ahead; ties on purpose (whole days).
            at = first + timedelta(days=rng.randint(0, 730), seconds=rng.choice((0, 1)))
            version += 1
            oid = UUID(int=rng.getrandbits(128), version=4)
            timed.append((at, StoredEvent(oid, version, "demo:Event", rng.randbytes(20))))
        timed.sort(key=lambda pair: pair[0])
        timeline.add(timed, [])
        timeline.advance(first + timedelta(days=20) if chunk < 29 else None)
        if horizon < timedelta(days=100) and chunk == 20:
            # Most of what waits is on disk, not in memory.
            assert len(timeline._waiting) < 300 < timeline._arrivals - len(written)
    timeline.close()
    return written, timeline


def test_later_events_wait_on_disk_and_come_back_in_the_same_order(monkeypatch):
    in_memory, _ = _run(timedelta(days=100_000), monkeypatch)
    spilled, timeline = _run(timedelta(days=7), monkeypatch)
    assert len(in_memory) == 30 * 50 + 90
    assert spilled == in_memory
    assert timeline._later is None
