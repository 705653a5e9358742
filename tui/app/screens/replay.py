"""History replay: step through a case's events and see the record as it
was after each one (or as of a date) - the auditor's point-in-time view."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from domain.officers.access import CASE_REPLAY
from domain.values import Money, format_minor
from msafiri.zones import shown
from projections.audit.secret_fields import SECRET_NAMES
from projections.audit.trail import state_as_of
from projections.queries import TimelineEntry
from tui.app.reads import log_read
from tui.app.readside import when
from tui.app.widgets import facts_grid, text_input

HIDDEN = SECRET_NAMES | {"transfers"}  # secrets: the one list in secret_fields.py


def _plain(value: Any, names: dict[str, str] | None = None, zone: tzinfo = UTC) -> str:
    """A value of a record as an auditor reads it: officers by name, money in
    major units with its currency, date-times in the officer's zone."""
    names = names or {}
    if isinstance(value, UUID):
        return names.get(str(value), str(value))
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Money):
        return str(value)  # major units and the currency
    if isinstance(value, BaseModel):
        return ", ".join(
            f"{key}={_plain(getattr(value, key), names, zone)}"
            for key in type(value).model_fields
            if getattr(value, key)
        )
    if isinstance(value, datetime):
        return shown(value, zone)
    if isinstance(value, dict):
        pairs = (f"{_plain(k, names, zone)}: {_plain(v, names, zone)}" for k, v in value.items())
        return "; ".join(pairs) or "-"
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(v, names, zone) for v in value) or "-"
    if value is None or value == "":
        return "-"
    return str(value)


def _currency_of(state: Any) -> str | None:
    try:
        currency = getattr(state, "currency", None)
    except Exception:  # a property of a record not complete yet
        return None
    return currency if isinstance(currency, str) else None


def _fact(
    key: str, value: Any, currency: str | None, names: dict[str, str], zone: tzinfo
) -> tuple[str, str]:
    label = key.replace("_", " ")
    if currency and key.endswith("_minor") and isinstance(value, int):
        return key.removesuffix("_minor").replace(
            "_", " "
        ), f"{format_minor(value, currency)} {currency}"
    if currency and key == "approvals" and isinstance(value, list):
        # A disbursement's approvals: (officer, amount in minor units, exception?)
        return label, "; ".join(
            f"{_plain(officer, names)} {format_minor(amount, currency)} {currency}"
            + (" (humanitarian exception)" if exception else "")
            for officer, amount, exception in value
        ) or "-"
    return label, _plain(value, names, zone)


def state_table(
    title: str, state: Any, names: dict[str, str] | None = None, zone: tzinfo = UTC
) -> Table:
    """A record's fields as they were; every value literal text, times in `zone`."""
    if state is None:
        return facts_grid([("", Text("did not exist yet"))], title=title)
    currency, names = _currency_of(state), names or {}
    rows = [
        _fact(key, value, currency, names, zone)
        for key, value in vars(state).items()
        if not key.startswith("_") and key not in HIDDEN
    ]
    return facts_grid([(label, Text(text)) for label, text in rows], title=title)


WIDE_FROM = 140
# "As of" a date follows one of the two times every event carries.
BASES = {"recorded": "recorded time", "happened": "happened time"}


def as_of_step(
    times: list[tuple[datetime, datetime]], day: date, basis: str, zone: tzinfo = UTC
) -> tuple[int | None, list[int]]:
    """The step to show as of the end of `day` (the officer's day: in `zone`) by `basis`, from each
    step's (recorded, happened) times in the order recorded: the last step
    that was recorded (or happened) by then, or None. Also the steps before
    it that happened after the day - a history entered late and out of
    order: the state after the step includes them."""
    limit = datetime.combine(day, datetime.max.time(), tzinfo=zone)
    which = 0 if basis == "recorded" else 1
    by_then = [i for i, pair in enumerate(times) if pair[which] <= limit]
    if not by_then:
        return None, []
    step = by_then[-1]
    later = [i for i in range(step) if times[i][1] > limit] if basis == "happened" else []
    return step, later


class StepsScreen(Screen):
    """What the replays share: a table of steps (#steps), a header line for
    the step on screen and any message (#step-head, always visible above
    both panes), the state as of the highlighted step (#state, scrolling),
    a date box (#as-of) and the time it follows (recorded or happened)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="replay.back"),
        Binding("g", "first", "First event", id="replay.first"),
        Binding("G", "last", "Last event", id="replay.last"),
        # Before the focused widget: `/` in the date box is not typed into it.
        Binding("slash", "focus_date", "As of date", id="replay.date", priority=True),
        Binding("t", "toggle_basis", "Recorded/happened", id="replay.basis"),
    ]
    DEFAULT_CSS = """
    StepsScreen #replay-title { padding: 0 1; text-style: bold; height: auto; }
    StepsScreen #replay-bar { height: auto; padding: 0 1; }
    StepsScreen #replay-bar Select { width: 1fr; max-width: 44; margin-right: 2; }
    StepsScreen #as-of { width: 1fr; max-width: 30; margin-right: 2; }
    StepsScreen #basis { width: auto; height: auto; color: $text-muted; }
    StepsScreen #step-head { height: auto; padding: 0 1; background: $boost; }
    StepsScreen #replay { height: 1fr; }
    StepsScreen #steps { width: 1fr; height: 1fr; }
    StepsScreen #state-pane { width: 1fr; height: 1fr; padding: 0 1; }
    StepsScreen #replay.wide #steps { width: 3fr; }
    StepsScreen #replay.wide #state-pane { width: 2fr; }
    StepsScreen #state { width: 1fr; height: auto; }
    """
    TITLE_TEXT = "History replay"
    STEP_COLUMNS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.basis = "recorded"
        # What the last date asked said, shown with the step it went to (and
        # gone once another step is shown).
        self.message = ""
        self.message_step: int | None = None
        self._step_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.title_line(self.TITLE_TEXT), id="replay-title")
        with Horizontal(id="replay-bar"):
            yield from self.compose_filters()
            yield text_input(id="as-of", placeholder="/ as of YYYY-MM-DD, Enter", compact=True)
            yield Static(Text(self._basis_text()), id="basis")
        yield Static(Text("Reading the history…"), id="step-head")
        with Horizontal(id="replay"):
            table: DataTable = DataTable(id="steps", cursor_type="row")
            table.add_columns(*self.STEP_COLUMNS)
            yield table
            with VerticalScroll(id="state-pane"):
                yield Static("", id="state")
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        # A wide terminal gives the steps their every column.
        self.query_one("#replay").set_class(event.size.width >= WIDE_FROM, "wide")

    def compose_filters(self) -> ComposeResult:
        """Widgets before the date box (the fund's account choice)."""
        yield from ()

    def step_times(self) -> list[tuple[datetime, datetime]]:
        """(recorded, happened) of each step in the table (aware UTC), in order."""
        raise NotImplementedError

    def recorded_times(self) -> list[datetime]:
        return [recorded for recorded, _ in self.step_times()]

    def title_line(self, title: str) -> Text:
        # The zone every time and date on this screen is in (the as-of date
        # too), named once: here, where an 80-column bar has no room for it.
        return Text(f"{title} · times in {self.app.zone.name}")

    def _basis_text(self) -> str:
        return f"t: as of {BASES[self.basis]}"

    def show_head(self, text: str, index: int | None = None) -> None:
        """The step line, and the last date's message under it when it is
        about this step (or about no step: `index` None)."""
        if index is not None:
            self._step_text = text
        wanted = index is None or index == self.message_step
        message = f"\n{self.message}" if self.message and wanted else ""
        self.query_one("#step-head", Static).update(Text(text + message))

    def action_toggle_basis(self) -> None:
        self.basis = "happened" if self.basis == "recorded" else "recorded"
        self.query_one("#basis", Static).update(Text(self._basis_text()))
        value = self.query_one("#as-of", Input).value.strip()
        if value:
            self.jump_to(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "as-of":
            self.jump_to(event.value)
            self.query_one("#steps", DataTable).focus()

    def action_back(self) -> None:
        # Esc in the date box goes back to the steps, not out of the replay.
        if isinstance(self.focused, Input):
            self.query_one("#steps", DataTable).focus()
        else:
            self.app.pop_screen()

    def jump_to(self, value: str) -> None:
        """Go to the last event recorded (or that happened) on or before the date."""
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            self.message = f"As of {value.strip()!r}: write the date as YYYY-MM-DD"
            self.message_step = None
            self.app.notify("Write the date as YYYY-MM-DD", severity="warning")
            self.show_head(self._step_text)
            return
        times = self.step_times()
        zone = self.app.zone.tz
        step, later = as_of_step(times, day, self.basis, zone)
        verb = "recorded" if self.basis == "recorded" else "happened"
        table = self.query_one("#steps", DataTable)
        if step is None:
            first = min((t[0 if self.basis == "recorded" else 1] for t in times), default=None)
            since = f" (the first {verb} {shown(first, zone, 'date')})" if first else ""
            self.message = f"As of {day} by {verb} time: nothing was {verb} by then{since}."
            self.message_step = None
            self.show_head("Before the first event")
            self.query_one("#state", Static).update(
                Text(f"Nothing was {verb} by {day}: nothing to show as of that date.")
            )
            return
        self.message = f"As of {day} by {verb} time: step {step + 1}."
        self.message_step = step
        if later:
            listed = ", ".join(f"step {i + 1}" for i in later[:5])
            more = f" and {len(later) - 5} more" if len(later) > 5 else ""
            self.message += (
                f" Recorded before it but happened after {day}: {listed}{more}"
                " (the state shown includes them)."
            )
        if table.cursor_row == step:
            self.show_as_of(step)  # no highlight event: show it (and the message) again
        table.move_cursor(row=step)

    def show_as_of(self, index: int) -> None:
        raise NotImplementedError

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < event.data_table.row_count:
            self.show_as_of(event.cursor_row)

    def action_first(self) -> None:
        self.query_one("#steps", DataTable).move_cursor(row=0)

    def action_last(self) -> None:
        table = self.query_one("#steps", DataTable)
        table.move_cursor(row=max(table.row_count - 1, 0))

    def action_focus_date(self) -> None:
        self.query_one("#as-of", Input).focus()


def step_line(index: int, count: int, what: str, who: str, role: str, recorded, happened) -> str:
    # The system is named once: "by Msafiri (system)", not "(system) (system)".
    role_words = "" if role == "system" else f" ({role.replace('_', ' ')})"
    return (
        f"Step {index + 1} of {count}: {what} by {who}{role_words} · "
        f"recorded {recorded} · happened {happened}"
    )


class ReplayScreen(StepsScreen):
    # Dates here are the officer's (the bar names the zone); the step line
    # above gives both times to the minute.
    STEP_COLUMNS = ("#", "Recorded", "Who", "Event", "Happened")

    def __init__(self, migrant_id: UUID, title: str = ""):
        super().__init__()
        self.migrant_id = migrant_id
        self.title_text = title or f"case {migrant_id}"
        self.TITLE_TEXT = f"History replay · {self.title_text}"
        self.entries: list[TimelineEntry] = []
        self.step: int | None = None  # the step shown, and the case as of it
        self.case_as_of: Any = None
        self.names: dict[str, str] = {}  # officer id -> full name
        self._seq = 0

    def on_mount(self) -> None:
        read_side = self.app.read_side
        migrant_id, titled = str(self.migrant_id), self.title_text != f"case {self.migrant_id}"
        log_read(self.app, CASE_REPLAY, subject_kind="case", subject_id=migrant_id)

        viewer = self.app.viewer

        def load() -> tuple[list[TimelineEntry], Any, dict[str, str]]:
            case = None if titled else read_side.queries.get_case(migrant_id)
            names = {o.officer_id: o.full_name for o in read_side.queries.officers()}
            return read_side.case_timeline(migrant_id, viewer), case, names

        self.app.call(load, then=self._show_steps, group="replay")

    def _show_steps(self, loaded: tuple[list[TimelineEntry], Any, dict[str, str]]) -> None:
        entries, case, self.names = loaded
        if case is not None:
            self.title_text = f"{case.case_number} · {case.full_name}"
            self.query_one("#replay-title", Static).update(
                self.title_line(f"History replay · {self.title_text}")
            )
        self.entries = entries
        table = self.query_one("#steps", DataTable)
        table.clear()
        zone = self.app.zone.tz
        for entry in entries:
            table.add_row(
                str(entry.notification_id),
                when(entry.recorded_at, zone, with_time=False),
                Text(entry.actor_name or "Msafiri (system)"),
                entry.event_type,
                when(entry.occurred_at, zone, with_time=False),
            )
        table.focus()
        if entries:
            self.show_as_of(0)
        else:
            self.show_head("Nothing recorded for this case.")

    def show_as_of(self, index: int) -> None:
        """The case (and the subject of this step, if not the case) as of the step."""
        if not 0 <= index < len(self.entries):
            return
        entry = self.entries[index]
        self._seq += 1
        seq = self._seq
        system, names, zone = self.app.system, self.names, self.app.zone.tz
        position = entry.notification_id

        def load() -> tuple[Any, list[Table]]:
            case = state_as_of(system.store, system.audit, self.migrant_id, position=position)
            tables = [state_table(f"Case as of event {position}", case, names, zone)]
            if entry.subject != "case":
                subject = state_as_of(
                    system.store, system.audit, UUID(entry.subject_id), position=position
                )
                tables.append(
                    state_table(f"{entry.subject.capitalize()} as of it", subject, names, zone)
                )
            return case, tables

        def show(loaded: tuple[Any, list[Table]]) -> None:
            if seq == self._seq:
                self.case_as_of, tables = loaded
                self.step = index
                self.show_head(
                    step_line(
                        index,
                        len(self.entries),
                        entry.event_type,
                        entry.actor_name or "Msafiri (system)",
                        entry.actor_role,
                        when(entry.recorded_at, zone),
                        when(entry.occurred_at, zone),
                    ),
                    index,
                )
                summary = Text(f"{entry.summary}\n")
                self.query_one("#state", Static).update(Group(summary, *tables))

        self.app.call(load, then=show, group="replay-state")

    def step_times(self) -> list[tuple[datetime, datetime]]:
        return [
            (_utc(entry.recorded_at), _utc(entry.occurred_at or entry.recorded_at))
            for entry in self.entries
        ]


def _utc(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
