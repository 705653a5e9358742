"""One timeline event in full: who, in which role, when it was recorded and
when it happened, the whole summary, and every field the event recorded.

The timeline's Details column is one line per event and runs off a 120-column
terminal; this modal is where a long note, reason or correction is read."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from msafiri.zones import OfficerZone, in_zone, shown
from projections.queries import TimelineEntry
from tui.app.readside import TrailLine
from tui.app.screens.audit import money_text
from tui.app.widgets import facts_grid

SYSTEM_ACTOR = "Msafiri (system)"


def exact(iso: str | None, zone: OfficerZone) -> str:
    """A stored instant to the second in the officer's zone, named:
    '2026-11-01T08:00:05.123456Z' -> '2026-11-01 11:00:05 Asia/Riyadh'."""
    if not iso:
        return "-"
    return f"{shown(iso, zone.tz, 'second')} {zone.name}"


def _is_instant(value: Any) -> bool:
    """A recorded date-time ('2026-11-01T08:00:05+00:00'), not a calendar
    date or free text."""
    return isinstance(value, str) and value[10:11] == "T" and in_zone(value, UTC) is not None


def _label(key: str) -> str:
    return key.replace("_", " ")


def _is_money(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"amount_minor", "currency"}


def recorded_fields(
    payload: dict[str, Any],
    prefix: str = "",
    currency: str | None = None,
    zone: OfficerZone | None = None,
) -> list[tuple[str, str]]:
    """The event's own fields as (label, text) rows, nested records flattened
    ("contract · employer name"), money in major units with its currency,
    date-times in `zone` (named) when given."""
    rows: list[tuple[str, str]] = []
    for key, value in payload.items():
        label = f"{prefix}{_label(key)}"
        amount = money_text(key, value, payload, currency)
        if amount is not None:
            rows.append((label.removesuffix(" minor"), amount))
        elif isinstance(value, dict) and value:
            inner = payload.get("currency") or currency
            rows += recorded_fields(value, prefix=f"{label} · ", currency=inner, zone=zone)
        elif isinstance(value, list | tuple):
            rows.append((label, ", ".join(str(item) for item in value) or "-"))
        elif value is None or value == {} or value == "":
            rows.append((label, "-"))
        elif isinstance(value, bool):
            rows.append((label, "yes" if value else "no"))
        elif zone is not None and _is_instant(value):
            rows.append((label, exact(value, zone)))
        else:
            rows.append((label, str(value)))
    return rows


SUBJECTS = {"case": "the case", "incident": "incident", "fund": "fund request"}


def entry_facts(entry: TimelineEntry, zone: OfficerZone) -> dict[str, str]:
    who = entry.actor_name or SYSTEM_ACTOR
    return {
        "event": entry.event_type,
        "position": f"{entry.notification_id} in the log",
        "about": f"{SUBJECTS.get(entry.subject, entry.subject)} {entry.subject_id}",
        "who": f"{who} ({entry.actor_id})",
        "role": _label(entry.actor_role),
        "recorded": exact(entry.recorded_at, zone),
        "happened": exact(entry.occurred_at, zone),
    }


def _grid(rows: list[tuple[str, str]]) -> Table:
    return facts_grid(rows, gap=2, fold=True)  # long values wrap, never cut


class TimelineEntryScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,enter", "dismiss(None)", "Close", id="entry.close"),
    ]

    def __init__(self, entry: TimelineEntry):
        super().__init__()
        self.entry = entry
        self.recorded: TrailLine | None = None

    def compose(self) -> ComposeResult:
        entry = self.entry
        with VerticalScroll(id="timeline-entry", classes="card"):
            yield Static(
                Text(f"#{entry.notification_id} · {entry.event_type}"), classes="card-title"
            )
            zone = self.app.zone
            yield Static(_grid(list(entry_facts(entry, zone).items())), id="entry-facts")
            yield Static("Summary", classes="entry-heading")
            yield Static(Text(entry.summary or "-"), id="entry-summary")
            yield Static("Recorded details", classes="entry-heading")
            yield Static("reading...", id="entry-recorded")
            yield Static("enter or escape: close", id="entry-help", classes="card-help")

    def on_mount(self) -> None:
        app: Any = self.app
        app.call(
            app.read_side.event_at,
            self.entry.notification_id,
            app.viewer,
            then=self._show,
            group="entry",
        )

    def _show(self, line: TrailLine | None) -> None:
        app: Any = self.app
        self.recorded = line
        target = self.query_one("#entry-recorded", Static)
        if line is None:
            target.update("The stored event at this position could not be read.")
            return
        target.update(
            _grid(
                recorded_fields(line.payload, currency=line.currency, zone=app.zone)
                or [("-", "no further fields")]
            )
        )
