"""Employers and agencies: search as you type (name similarity within a
country), then Enter opens one's history - or, when a contract form asked
(`pick`), chooses it for the contract (issue 16)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from tui.app.widgets import literals, text_input

COLUMNS = ("Id", "Name", "City", "Country", "Watchlist", "Match")


class EmployerSearchScreen(Screen):
    """`pick`: dismiss with the chosen record's id (or None: not registered)."""

    BINDINGS = [
        Binding("escape", "leave", "Back / not registered", id="employers.leave"),
        Binding("slash", "focus_search", "Search", id="employers.search", priority=True),
    ]

    def __init__(
        self, pick: bool = False, country: str = "", party_kind: str = "employer", text: str = ""
    ) -> None:
        super().__init__()
        self.pick = pick
        self.country = country
        self.party_kind = party_kind
        self.text = text
        self.rows: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header()
        title = "Choose the contract's employer" if self.pick else "Employers and agencies"
        yield Static(title, classes="card-title")
        if self.pick:
            yield Static(
                "Type the employer's name: registered ones with a similar name in the "
                "country are offered. Enter chooses; Esc: not registered (type it on the form).",
                classes="card-help",
            )
        with Horizontal(id="search-bar"):
            yield text_input(id="search", value=self.text, placeholder="/ name")
            yield text_input(
                id="country", value=self.country, placeholder="country (SA)", max_length=2
            )
            yield Select(
                [("employer", "employer"), ("agency", "agency")],
                value=self.party_kind,
                allow_blank=False,
                id="party-kind",
                disabled=self.pick,
            )
        table: DataTable = DataTable(id="parties", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="found")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()
        self.reload()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_leave(self) -> None:
        if self.pick:
            self.dismiss(None)
        else:
            self.app.pop_screen()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.reload()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        table = self.query_one("#parties", DataTable)
        if self.rows:
            table.focus()

    def reload(self) -> None:
        text = self.query_one("#search", Input).value.strip()
        country = self.query_one("#country", Input).value.strip().upper() or None
        kind = str(self.query_one("#party-kind", Select).value)
        queries = self.app.read_side.queries

        def search() -> list[Any]:
            if not text:
                return []
            return queries.search_parties(kind, text, country, limit=20)

        self.app.call(search, then=self.show, group="employer-search", exclusive=True)

    def show(self, matches: list[Any]) -> None:
        self.rows = [m.row for m in matches]
        table = self.query_one("#parties", DataTable)
        table.clear()
        for match in matches:
            row = match.row
            table.add_row(
                *literals(
                    row.party_id[:8],
                    row.name,
                    row.city or "-",
                    row.country,
                    row.watchlist.replace("_", " "),
                    f"{match.score:.0f}",
                )
            )
        self.query_one("#found", Static).update(
            f"{len(matches)} found" if matches else "nothing similar registered"
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if not self.rows:
            return
        row = self.rows[event.cursor_row]
        if self.pick:
            self.dismiss(row)
            return
        from tui.app.screens.employer_view import EmployerScreen

        self.app.push_screen(EmployerScreen(row.party_id))
