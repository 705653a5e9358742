"""What the screens read: the projections' read models, never aggregates.

`ReadSide` owns (or borrows from the System) the read models, keeps them
current in a background thread (the embedded SQLite default has no other
projection worker), catches them up right after the UI itself writes, and
adds the auditor's who-did-what (the activity index, then the stored events).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from domain.ids import officer_id
from domain.viewer import Viewer
from msafiri.zones import shown
from projections.audit.trail import trail_line
from projections.queries import Page, Queries, TimelineEntry
from projections.readmodels import ReadModels, open_read_models
from projections.replica import replica_facts

WHO_PAGE_MAX = 200
# A case's timeline is short; the screens read it whole, up to this many events.
CASE_TIMELINE_MAX = 5000


@dataclass(frozen=True)
class TrailLine:
    position: int
    recorded_at: str
    occurred_at: str
    actor_id: str
    actor_role: str
    event_type: str
    aggregate_id: str
    payload: dict[str, Any]
    # The officer's username (who-did-what lines only; None: not an officer).
    username: str | None = None
    # The currency of an amount recorded without one (a reservation posted, a
    # command's result): that of the fund transfer the event names.
    currency: str | None = None


class ReadSide:
    def __init__(self, system: Any, follow: bool = True):
        self.system = system
        borrowed = getattr(system, "read_models", None)
        self._owned = borrowed is None
        self.read_models: ReadModels = borrowed or open_read_models(
            system.settings, system.database, system.store
        )
        self.follow = follow
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def queries(self) -> Queries:
        return self.read_models.queries

    # -- keeping current ------------------------------------------------------

    def start(self) -> None:
        """Follow the log in a daemon thread until close()."""
        if not self.follow or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self.read_models.run_forever,
            args=(self._stop,),
            daemon=True,
            name="msafiri-projections",
        )
        self._thread.start()

    @property
    def follows_here(self) -> bool:
        """Is this process's background thread keeping the read models current?"""
        return self._thread is not None

    def catch_up(self) -> int:
        """Blocking: apply what the log holds now (after the UI wrote)."""
        return self.read_models.catch_up()

    def position(self) -> int:
        """The lowest position of the read models: it moves when they do.
        -1 when it cannot be read now (a busy database): asked again soon."""
        try:
            statuses = self.queries.status()
        except Exception:  # polled every second: never a stream of error toasts
            return -1
        return min((s.position for s in statuses), default=0)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._owned:
            self.read_models.close()

    def status(self) -> dict[str, str]:
        facts: dict[str, str] = {}
        for s in self.queries.status():
            state = "up to date" if s.lag == 0 else f"{s.lag:,} events behind"
            if s.failed_id is not None:
                state = f"STOPPED at event {s.failed_id}: {s.error}"
            facts[f"projection {s.name}"] = f"position {s.position:,} of {s.head:,} · {state}"
        facts["projections follow"] = (
            "in this process (background thread)" if self.follows_here else "separate workers"
        )
        facts.update(replica_facts(self.read_models))
        return facts

    def case_timeline(self, migrant_id: str, viewer: Viewer) -> list[TimelineEntry]:
        """Blocking: the case's whole timeline (up to CASE_TIMELINE_MAX), oldest
        first, as `viewer` may see it."""
        entries: list[TimelineEntry] = []
        after = None
        while True:
            page = self.queries.case_timeline(migrant_id, after=after, limit=500, viewer=viewer)
            entries += page.rows
            if page.after is None or len(entries) >= CASE_TIMELINE_MAX:
                return entries
            after = page.after

    # -- who did what -----------------------------------------------------------

    def who_did_what(
        self,
        *,
        officer: str = "",
        role: str = "",
        event_type: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        after: int = 0,
        limit: int = 50,
        viewer: Viewer,
    ) -> Page[TrailLine]:
        """Events of the whole log that match, in order, a page at a time
        (keyset on the log position): the activity read model finds them
        (`Queries.activity`, shared with `msafiri audit who`), the event
        store gives their recorded fields."""
        page = self.queries.activity(
            officer_id=str(officer_id(officer)) if officer else None,
            role=role or None,
            event_type=event_type or None,
            since=since,
            until=until,
            after=str(after) if after else None,
            limit=max(1, min(limit, WHO_PAGE_MAX)),
        )
        store, audit = self.system.store, self.system.audit
        usernames = {row.position: row.username for row in page.rows}
        rows = audit.rows_at(list(usernames))
        shown = self.queries.disclosure.reader(viewer).line
        lines = [
            _trail(shown(trail_line(store, row, None)), usernames[row.position]) for row in rows
        ]
        return Page(self._with_currencies(lines), page.after)

    def _with_currencies(self, lines: list[TrailLine]) -> list[TrailLine]:
        """Lines whose amounts have no currency of their own, given that of the
        fund transfer they name (one query per page)."""
        wanted = {line.position: _transfer_of(line.payload) for line in lines}
        ids = sorted({t for t in wanted.values() if t})
        if not ids:
            return lines
        marks = ", ".join("?" for _ in ids)
        rows = self.queries.db.fetchall(
            f"SELECT DISTINCT transfer_id, currency FROM rm_fund_journal "
            f"WHERE transfer_id IN ({marks})",
            tuple(ids),
        )
        currencies = {str(t): c for t, c in rows}
        return [
            replace(line, currency=currencies.get(wanted[line.position] or ""))
            if wanted[line.position]
            else line
            for line in lines
        ]

    def event_at(self, position: int, viewer: Viewer) -> TrailLine | None:
        """Blocking: the stored event at one log position, every field of it
        (the timeline's one-line summaries are cut; this is what was recorded)."""
        store, audit = self.system.store, self.system.audit
        for row in audit.rows(after=position - 1, upto=position):
            line = self.queries.disclosure.reader(viewer).line(trail_line(store, row, None))
            return self._with_currencies([_trail(line)])[0]
        return None


def _transfer_of(payload: dict[str, Any]) -> str | None:
    """The fund transfer an event's currency-less amount belongs to, if any."""
    if "currency" in payload:
        return None
    for record in (payload, payload.get("result")):
        if isinstance(record, dict) and isinstance(record.get("amount_minor"), int):
            transfer = record.get("transfer_id")
            return str(transfer) if transfer else None
    return None


def _trail(line: dict[str, Any], username: str | None = None) -> TrailLine:
    return TrailLine(
        position=line["position"],
        recorded_at=line["recorded_at"],
        occurred_at=line["occurred_at"] or "",
        actor_id=line["actor_id"],
        actor_role=line["actor_role"],
        event_type=line["type"],
        aggregate_id=line["aggregate_id"],
        payload=line["payload"],
        username=username,
    )


def when(iso: str | None, zone: tzinfo, with_time: bool = True) -> str:
    """A stored instant in the officer's zone (msafiri/zones.py), to the
    minute or its date there: '2026-11-01T08:00:00Z' in Asia/Riyadh ->
    '2026-11-01 11:00'. The screen names the zone (a header or a line)."""
    return shown(iso, zone, "minute" if with_time else "date")
