"""The auditor's who-did-what: every event by officer, role, date and type."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from domain.values import Role
from projections.queries import Page
from tui.app.readside import TrailLine, when
from tui.app.widgets import text_input

PAGE_ROWS = 50
COLUMNS = ("#", "Recorded (UTC)", "Happened", "Who", "Role", "Event", "Record", "Details")


def _day(text: str, end: bool = False) -> datetime | None:
    try:
        day = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if end and len(text.strip()) == 10:  # a bare date: up to the end of that day
        day = datetime.combine(day.date(), time.max)
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def _details(payload: dict[str, Any]) -> str:
    parts = []
    for key, value in payload.items():
        if value in (None, "", [], {}) or key.endswith("_hash"):
            continue
        if isinstance(value, dict):
            value = " ".join(str(v) for v in value.values() if v not in (None, ""))
        parts.append(f"{key}={value}")
    text = ", ".join(parts)
    return text if len(text) <= 120 else text[:119] + "…"


class WhoDidWhatScreen(Screen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="audit.filter"),
        Binding("pagedown,right_square_bracket", "next_page", "Next page", id="audit.next"),
        Binding("pageup,left_square_bracket", "previous_page", "Prev page", id="audit.prev"),
        Binding("ctrl+r", "reload", "Reload", id="audit.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cursors: list[int] = [0]
        self.page: Page[TrailLine] | None = None
        self._seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Who did what", classes="card-title")
        with Horizontal(id="audit-bar"):
            yield text_input(id="officer", placeholder="/ officer (username)")
            yield Select(
                [(r.value.replace("_", " "), r.value) for r in Role], prompt="any role", id="role"
            )
            yield text_input(id="event-type", placeholder="event type, e.g. Returned")
            yield text_input(id="since", placeholder="from YYYY-MM-DD")
            yield text_input(id="until", placeholder="to YYYY-MM-DD")
        table: DataTable = DataTable(id="events", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="page-info")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def filters(self) -> dict[str, Any]:
        role = self.query_one("#role", Select).value
        return {
            "officer": self.query_one("#officer", Input).value.strip(),
            "role": role if isinstance(role, str) else "",
            "event_type": self.query_one("#event-type", Input).value.strip(),
            "since": _day(self.query_one("#since", Input).value),
            "until": _day(self.query_one("#until", Input).value, end=True),
        }

    def refresh_data(self) -> None:
        if self.page is not None and self.page.after is None:
            self.action_reload()  # only the last page can grow

    def action_reload(self) -> None:
        self._seq += 1
        seq, after, filters = self._seq, self.cursors[-1], self.filters()
        read_side = self.app.read_side

        def fetch() -> Page[TrailLine]:
            return read_side.who_did_what(after=after, limit=PAGE_ROWS, **filters)

        def show(page: Page[TrailLine]) -> None:
            if seq == self._seq:
                self.page = page
                self._show(page)

        self.app.call(fetch, then=show, group="audit")

    def _show(self, page: Page[TrailLine]) -> None:
        table = self.query_one("#events", DataTable)
        table.clear()
        for line in page.rows:
            table.add_row(
                str(line.position),
                line.recorded_at[:19].replace("T", " "),
                when(line.occurred_at, with_time=False),
                line.username or "Msafiri (system)",
                line.actor_role.replace("_", " "),
                line.event_type,
                line.aggregate_id[:8],
                _details(line.payload),
            )
        number = len(self.cursors)
        info = f"page {number}, {len(page.rows)} events" if page.rows else "no events match"
        more = "; ] next page" if page.after else ""
        back = "; [ previous" if number > 1 else ""
        self.query_one("#page-info", Static).update(info + more + back)

    def restart(self) -> None:
        self.cursors = [0]
        self.action_reload()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.restart()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.restart()

    def action_focus_filter(self) -> None:
        self.query_one("#officer", Input).focus()

    def action_next_page(self) -> None:
        if self.page is not None and self.page.after:
            self.cursors.append(int(self.page.after))
            self.action_reload()

    def action_previous_page(self) -> None:
        if len(self.cursors) > 1:
            self.cursors.pop()
            self.action_reload()
