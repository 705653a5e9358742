"""The auditor's who-did-what: every event by officer, role, date and type."""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from domain.amounts import format_major
from domain.values import Role
from msafiri.zones import shown
from projections.queries import Page
from tui.app.readside import TrailLine, when
from tui.app.widgets import literals, text_input

PAGE_ROWS = 50


def columns(zone: str) -> tuple[str, ...]:
    """Recorded times are the officer's, and the header names the zone."""
    return ("#", f"Recorded ({zone})", "Happened", "Who", "Role", "Event", "Record", "Details")


def _day(text: str, zone: tzinfo = UTC, end: bool = False) -> datetime | None:
    """A typed filter date (or date-time), in the officer's zone unless it
    names one, as everywhere (msafiri/zones.py)."""
    try:
        day = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if end and len(text.strip()) == 10:  # a bare date: up to the end of that day
        day = datetime.combine(day.date(), time.max)
    return day if day.tzinfo else day.replace(tzinfo=zone)


def _is_money(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"amount_minor", "currency"}


def _leg(leg: dict[str, Any]) -> str:
    side = "dr" if leg.get("debit_minor") else "cr"
    amount = leg.get("debit_minor") or leg.get("credit_minor") or 0
    return f"{leg['account']} {side} {format_major(amount, leg['currency'])}"


def _is_legs(value: Any) -> bool:
    return (
        bool(value)
        and isinstance(value, list | tuple)
        and all(isinstance(v, dict) and {"account", "currency"} <= set(v) for v in value)
    )


def money_text(
    key: str, value: Any, payload: dict[str, Any], currency: str | None = None
) -> str | None:
    """A stored amount as people read it, or None when `value` is no amount:
    Money, a journal's legs, or `*_minor` beside the record's currency (else
    `currency`, that of the fund transfer the event names)."""
    if _is_money(value):
        return format_major(value["amount_minor"], value["currency"])
    if _is_legs(value):
        return "; ".join(_leg(leg) for leg in value)
    currency = payload.get("currency") or currency
    if not (key.endswith("_minor") and isinstance(currency, str)):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return format_major(value, currency)
    if isinstance(value, dict) and value and all(type(v) is int for v in value.values()):
        # Amounts by name (a policy's caps per benefit), in the record's currency.
        return ", ".join(
            f"{str(name).replace('_', ' ')} {format_major(amount, currency)}"
            for name, amount in value.items()
        )
    return None


def _details(payload: dict[str, Any], currency: str | None = None) -> str:
    """One line of an event's fields; money in major units with its currency
    ("amount=120,000.00 KES"), never the stored minor units. Ids come last:
    what happened (amounts, accounts, reasons) is what fits on the line."""
    text = ", ".join(_parts(payload, currency))
    return text if len(text) <= 120 else text[:119] + "…"


def _parts(payload: dict[str, Any], currency: str | None = None) -> list[str]:
    parts = []
    ids_last = sorted(payload.items(), key=lambda item: item[0].endswith("_id"))
    for key, value in ids_last:
        if value in (None, "", [], {}) or key.endswith("_hash"):
            continue
        amount = money_text(key, value, payload, currency)
        if amount is not None:
            key, value = key.removesuffix("_minor"), amount
        elif isinstance(value, dict):  # a nested record: its fields, money read alike
            value = "(" + ", ".join(_parts(value, payload.get("currency") or currency)) + ")"
        parts.append(f"{key}={value}")
    return parts


class WhoDidWhatScreen(Screen):
    # At 80 columns the officer box keeps room for a username and the role
    # box for its prompt on one line.
    DEFAULT_CSS = """
    #audit-bar #role { min-width: 19; }
    """

    BINDINGS = [
        # Priority: "/" in the officer box stays there, it is not typed into it.
        Binding("slash", "focus_filter", "Filter", id="audit.filter", priority=True),
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
        table.add_columns(*columns(self.app.zone.name))
        yield table
        yield Static("", id="page-info")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#officer", Input).styles.width = "2fr"  # beats the bar's 1fr
        self.action_reload()

    def filters(self) -> dict[str, Any]:
        role = self.query_one("#role", Select).value
        zone = self.app.zone.tz
        return {
            "officer": self.query_one("#officer", Input).value.strip(),
            "role": role if isinstance(role, str) else "",
            "event_type": self.query_one("#event-type", Input).value.strip(),
            "since": _day(self.query_one("#since", Input).value, zone),
            "until": _day(self.query_one("#until", Input).value, zone, end=True),
        }

    def refresh_data(self) -> None:
        if self.page is not None and self.page.after is None:
            self.action_reload()  # only the last page can grow

    def action_reload(self) -> None:
        self._seq += 1
        seq, after, filters = self._seq, self.cursors[-1], self.filters()
        read_side = self.app.read_side

        def fetch() -> Page[TrailLine]:
            return read_side.who_did_what(
                after=after, limit=PAGE_ROWS, viewer=self.app.viewer, **filters
            )

        def show(page: Page[TrailLine]) -> None:
            if seq == self._seq:
                self.page = page
                self._show(page)

        self.app.call(fetch, then=show, group="audit")

    def _show(self, page: Page[TrailLine]) -> None:
        table = self.query_one("#events", DataTable)
        table.clear()
        # The log position is sized here, not measured later: when filter
        # results arrive while typing, the table's own measuring (on idle) can
        # keep the width of an earlier page and cut 2257 to "22".
        position = next(iter(table.columns.values()))
        digits = max((len(str(line.position)) for line in page.rows), default=1)
        if position.auto_width or position.width < digits:
            position.auto_width, position.width = False, max(digits, 2)
        zone = self.app.zone.tz
        for line in page.rows:
            table.add_row(
                *literals(
                    str(line.position),
                    shown(line.recorded_at, zone, "second"),
                    when(line.occurred_at, zone, with_time=False),
                    line.username or "Msafiri (system)",
                    line.actor_role.replace("_", " "),
                    line.event_type,
                    line.aggregate_id[:8],
                    _details(line.payload, line.currency),
                )
            )
        number = len(self.cursors)
        info = f"page {number}, {len(page.rows)} events" if page.rows else "no events match"
        more = "; ] next page" if page.after else ""
        back = "; [ previous" if number > 1 else ""
        self.query_one("#page-info", Static).update(Text(info + more + back))

    def restart(self) -> None:
        self.cursors = [0]
        self.action_reload()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.restart()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.restart()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In another filter box (dates, event type) "/" is only a character.
        if action == "focus_filter" and isinstance(self.focused, Input):
            return self.focused.id == "officer"
        return True

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
