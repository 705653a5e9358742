"""History replay: step through a case's events and see the record as it
was after each one (or as of a date) - the auditor's point-in-time view."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from projections.audit.trail import state_as_of
from projections.queries import TimelineEntry
from tui.app.readside import when
from tui.app.widgets import facts_grid, text_input

HIDDEN = {"password_hash", "transfers"}


def _plain(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, BaseModel):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.model_dump().items() if v)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dict):
        return "; ".join(f"{_plain(k)}: {_plain(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(v) for v in value) or "-"
    if value is None or value == "":
        return "-"
    return str(value)


def state_table(title: str, state: Any) -> Table:
    if state is None:
        return facts_grid([("", "did not exist yet")], title=title)
    rows = [
        (key.replace("_", " "), _plain(value))
        for key, value in vars(state).items()
        if not key.startswith("_") and key not in HIDDEN
    ]
    return facts_grid(rows, title=title)


class StepsScreen(Screen):
    """What the replays share: a table of steps (#steps), the state as of the
    highlighted one (#state), a date box (#as-of), first / last / a date."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="replay.back"),
        Binding("g", "first", "First event", id="replay.first"),
        Binding("G", "last", "Last event", id="replay.last"),
        Binding("slash", "focus_date", "As of date", id="replay.date"),
    ]

    def recorded_times(self) -> list[datetime]:
        """When each step in the table was recorded (aware UTC), in order."""
        raise NotImplementedError

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Jump to the last event recorded on or before the date."""
        try:
            day = date.fromisoformat(event.value.strip())
        except ValueError:
            self.app.notify("Write the date as YYYY-MM-DD", severity="warning")
            return
        limit = datetime.combine(day, datetime.max.time(), tzinfo=UTC)
        before = [i for i, at in enumerate(self.recorded_times()) if at <= limit]
        if not before:
            self.query_one("#state", Static).update(f"Nothing was recorded by {day}.")
            return
        table = self.query_one("#steps", DataTable)
        table.move_cursor(row=before[-1])
        table.focus()

    def action_first(self) -> None:
        self.query_one("#steps", DataTable).move_cursor(row=0)

    def action_last(self) -> None:
        table = self.query_one("#steps", DataTable)
        table.move_cursor(row=max(table.row_count - 1, 0))

    def action_focus_date(self) -> None:
        self.query_one("#as-of", Input).focus()


class ReplayScreen(StepsScreen):
    def __init__(self, migrant_id: UUID, title: str = ""):
        super().__init__()
        self.migrant_id = migrant_id
        self.title_text = title or f"case {migrant_id}"
        self.entries: list[TimelineEntry] = []
        self.step: int | None = None  # the step shown, and the case as of it
        self.case_as_of: Any = None
        self._seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"History replay · {self.title_text}", classes="card-title", id="replay-title")
        with Horizontal(id="replay"):
            with Vertical(id="replay-events"):
                yield text_input(id="as-of", placeholder="/ as of date (YYYY-MM-DD), Enter")
                table: DataTable = DataTable(id="steps", cursor_type="row")
                table.add_columns("#", "Recorded (UTC)", "Who", "Event")
                yield table
            yield Static("", id="state")
        yield Footer()

    def on_mount(self) -> None:
        read_side = self.app.read_side
        self.app.call(
            read_side.case_timeline, str(self.migrant_id), then=self._show_steps, group="replay"
        )

    def _show_steps(self, entries: list[TimelineEntry]) -> None:
        self.entries = entries
        table = self.query_one("#steps", DataTable)
        table.clear()
        for entry in entries:
            table.add_row(
                str(entry.notification_id),
                when(entry.recorded_at),
                entry.actor_name or "Msafiri (system)",
                entry.event_type,
            )
        table.focus()
        if entries:
            self.show_as_of(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.entries):
            self.show_as_of(event.cursor_row)

    def show_as_of(self, index: int) -> None:
        """The case (and the subject of this step, if not the case) as of the step."""
        entry = self.entries[index]
        self._seq += 1
        seq = self._seq
        system = self.app.system
        position = entry.notification_id

        def load() -> tuple[Any, list[Table]]:
            case = state_as_of(system.store, system.audit, self.migrant_id, position=position)
            tables = [state_table(f"Case as of event {position}", case)]
            if entry.subject != "case":
                subject = state_as_of(
                    system.store, system.audit, UUID(entry.subject_id), position=position
                )
                tables.append(state_table(f"{entry.subject.capitalize()} as of it", subject))
            return case, tables

        def show(loaded: tuple[Any, list[Table]]) -> None:
            if seq == self._seq:
                self.case_as_of, tables = loaded
                self.step = index
                from rich.console import Group

                head = (
                    f"Step {index + 1} of {len(self.entries)}: {entry.event_type} by "
                    f"{entry.actor_name or 'Msafiri (system)'} ({entry.actor_role}), "
                    f"recorded {when(entry.recorded_at)}, happened {when(entry.occurred_at)}\n"
                    f"{entry.summary}\n"
                )
                self.query_one("#state", Static).update(Group(head, *tables))

        self.app.call(load, then=show, group="replay-state")

    def recorded_times(self) -> list[datetime]:
        return [datetime.fromisoformat(entry.recorded_at) for entry in self.entries]
