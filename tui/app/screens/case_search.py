"""Case search as you type: one page of the cases read model at a time."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from domain.cases.vocabulary import Stage
from domain.values import Role
from projections.queries import CaseRow, Page
from tui.app.catalogue import BY_KEY
from tui.app.reads import log_search
from tui.app.readside import when
from tui.app.widgets import literals, text_input

PAGE_ROWS = 20
COLUMNS = ("Case", "Name", "Sex", "Stage", "Dest.", "Employer", "Open inc.", "Last activity")


class CaseSearchScreen(Screen):
    # The filters' prompts stay on one line at 80 columns.
    DEFAULT_CSS = """
    #search-bar Select { min-width: 20; }
    #search-bar #incidents { min-width: 23; }
    """

    BINDINGS = [
        # Priority: "/" in the search box moves there, it is not typed into it.
        Binding("slash", "focus_search", "Search", id="cases.search", priority=True),
        Binding("ctrl+n", "register", "Register", id="cases.register"),
        Binding("pagedown,right_square_bracket", "next_page", "Next page", id="cases.next"),
        Binding("pageup,left_square_bracket", "previous_page", "Prev page", id="cases.prev"),
        Binding("ctrl+y", "copy_id", "Copy case no.", id="cases.copy"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # Keyset paging: the `after` cursor of each page shown so far.
        self.cursors: list[str | None] = [None]
        self.page: Page[CaseRow] | None = None
        self._seq = 0
        # Which search the table shows, and since when (the bench reads it).
        self.shown_seq = 0
        self.shown_at = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="search-bar"):
            yield text_input(
                id="search", placeholder="/ search: name, case number, id, passport, phone"
            )
            yield Select(
                [(s.value.replace("_", " "), s.value) for s in Stage],
                prompt="any stage",
                id="stage",
            )
            yield text_input(id="destination", placeholder="dest. (SA)", max_length=2)
            yield Select(
                [("with open incidents", "yes"), ("no open incidents", "no")],
                prompt="any incidents",
                id="incidents",
            )
        table: DataTable = DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="page-info")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    # -- searching ------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        stage = self.query_one("#stage", Select).value
        incidents = self.query_one("#incidents", Select).value
        return {
            "stage": stage if isinstance(stage, str) else None,
            "destination": self.query_one("#destination", Input).value.strip().upper() or None,
            "open_incidents": {"yes": True, "no": False}.get(incidents)
            if isinstance(incidents, str)
            else None,
        }

    live_contexts = frozenset({"cases", "incidents"})

    def refresh_data(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._seq += 1
        seq = self._seq
        text = self.query_one("#search", Input).value
        filters, after = self.filters(), self.cursors[-1]
        queries = self.app.read_side.queries
        log_search(self.app, self, text, filters)  # the access log (docs/privacy.md)

        def search() -> Page[CaseRow]:
            return queries.search_cases(text, after=after, limit=PAGE_ROWS, **filters)

        def show(page: Page[CaseRow]) -> None:
            if seq == self._seq:  # a later keystroke supersedes this answer
                self._show(page)
                self.shown_seq, self.shown_at = seq, time.perf_counter()

        self.app.call(search, then=show, group="search")

    def restart(self) -> None:
        self.cursors = [None]
        self.reload()

    def _show(self, page: Page[CaseRow]) -> None:
        self.page = page
        table = self.query_one("#cases", DataTable)
        table.clear()
        zone = self.app.zone.tz  # the officer's date of the last activity
        for row in page.rows:
            table.add_row(
                *literals(
                    row.case_number,
                    row.full_name,
                    row.sex,
                    row.stage.replace("_", " "),
                    row.destination or "-",
                    row.employer or "-",
                    str(row.open_incidents) if row.open_incidents else "-",
                    when(row.last_activity_at, zone, with_time=False),
                ),
                key=row.migrant_id,
            )
        number = len(self.cursors)
        more = "; ] next page" if page.after else ""
        back = "; [ previous" if number > 1 else ""
        shown = f"page {number}, {len(page.rows)} cases" if page.rows else "no cases match"
        self.query_one("#page-info", Static).update(Text(f"{shown}{more}{back}"))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.restart()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.restart()

    def on_key(self, event: Any) -> None:
        # Down from the search box goes to the results, as in a browser.
        if event.key == "down" and self.focused is self.query_one("#search", Input):
            event.stop()
            self.query_one("#cases", DataTable).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#cases", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._open(event.row_key.value)

    # -- actions --------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In another text box (the destination) "/" is only a character.
        if action == "focus_search" and isinstance(self.focused, Input):
            return self.focused.id == "search"
        return True

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_next_page(self) -> None:
        if self.page and self.page.after:
            self.cursors.append(self.page.after)
            self.reload()

    def action_previous_page(self) -> None:
        if len(self.cursors) > 1:
            self.cursors.pop()
            self.reload()

    def _open(self, key: str | None) -> None:
        from uuid import UUID

        from tui.app.screens.case_view import CaseScreen

        if key:
            self.app.push_screen(CaseScreen(UUID(key)))

    def action_register(self) -> None:
        from tui.app.screens.actions import open_action

        app: Any = self.app
        if app.session.role is not Role.REGISTRATION_OFFICER:
            app.notify("Only registration officers register migrants", severity="warning")
            return
        open_action(app, BY_KEY["case.register"], on_done=self._registered)

    def _registered(self, migrant_id: Any) -> None:
        from tui.app.screens.case_view import CaseScreen

        if migrant_id is not None:
            self.app.push_screen(CaseScreen(migrant_id))

    def action_copy_id(self) -> None:
        table = self.query_one("#cases", DataTable)
        if table.row_count:
            number = str(table.get_row_at(table.cursor_row)[0])
            self.app.copy_to_clipboard(number)
            self.app.notify(f"Copied {number}")
