"""Employers and agencies: search as you type (names starting with what is
typed, and names like it within a country), then Enter opens one's history
- or, when a contract form asked (`pick`), chooses it for the contract
(issue 16)."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from domain.employers.commands import RegisterAgency
from domain.employers.vocabulary import name_key
from domain.values import utcnow
from projections.employer_queries import Match
from tui.app.widgets import literals, text_input

# The third column tells records of a kind apart: an employer's city, an
# agency's licence (a revoked or expired one must be seen before it is chosen).
COLUMNS = {
    "employer": ("Id", "Name", "City", "Country", "Watchlist", "Match"),
    "agency": ("Id", "Name", "Licence", "Country", "Watchlist", "Match"),
}
# Agencies are licensed at home: the country their search starts in.
LICENSING_COUNTRY = str(RegisterAgency.model_fields["licensing_country"].default)
LISTED = ("listed", "delisting_proposed")
PICK_TEXT = {
    "employer": (
        "Choose the contract's employer",
        "Type the employer's name: registered ones with a similar name in the "
        "country are offered. Enter chooses; Esc: not registered (type it on the form).",
    ),
    "agency": (
        "Choose the contract's recruitment agency",
        "Type the agency's name: registered agencies whose name starts with it or is "
        "like it are offered, with their licence. Enter chooses; Esc: no registered agency.",
    ),
}


def licence_words(row: Any, today: str | None = None) -> str:
    """An agency's licence as the officer must know it before choosing it:
    revoked, suspended, expired or not yet valid - or valid until when."""
    today = today or utcnow().date().isoformat()
    status = row.licence_status or "active"
    if status != "active":
        return f"licence {status}" + (f": {row.licence_reason}" if row.licence_reason else "")
    if row.licence_valid_until and row.licence_valid_until < today:
        return f"licence expired on {row.licence_valid_until}"
    if row.licence_valid_from and row.licence_valid_from > today:
        return f"licence valid only from {row.licence_valid_from}"
    return f"licence valid until {row.licence_valid_until}"


def licence_valid(row: Any, today: str | None = None) -> bool:
    return licence_words(row, today).startswith("licence valid until")


def party_line(row: Any) -> str:
    """The form's context line for a chosen (or kept) employer or agency,
    with the warning the domain will raise when saved without a justification."""
    status = row.watchlist.replace("_", " ")
    if row.party_kind == "agency":
        licence = f"{row.licence_number}, {licence_words(row)}"
        line = f"Agency: {row.name} ({licence}) · {status}"
        troubled = row.watchlist in LISTED or not licence_valid(row)
    else:
        where = ", ".join(part for part in (row.city, row.country) if part)
        line = f"Employer: {row.name} ({where}) · {status}"
        troubled = row.watchlist in LISTED
    if troubled:
        line += " · ⚠ a written justification is required"
    return line


def offered(queries: Any, kind: str, text: str, country: str | None, limit: int = 20) -> list[Any]:
    """What the picker offers for `text`: the names starting with it and,
    within `country`, the names like it (a typo, a word left out) - each
    record once, best match first."""
    key = name_key(text)
    if not key:
        return []
    found: dict[str, Any] = {}
    if country:
        for match in queries.search_parties(kind, text, country, limit=limit):
            found[match.row.party_id] = match
    # The prefix read spans every country: read more when some are dropped.
    for match in queries.search_parties(kind, text, None, limit=100 if country else limit):
        row = match.row
        if row.party_id in found or (country and row.country != country):
            continue
        # A prefix is a partial name: scored as alike as it is, not as 100.
        found[row.party_id] = Match(row, fuzz.WRatio(key, name_key(row.name)))
    ordered = sorted(found.values(), key=lambda m: (-m.score, m.row.name, m.row.party_id))
    return ordered[:limit]


class EmployerSearchScreen(Screen):
    """`pick`: dismiss with the chosen record (or None: not registered)."""

    BINDINGS = [
        Binding("escape", "leave", "Back / not registered", id="employers.leave"),
        Binding("slash", "focus_search", "Search", id="employers.search", priority=True),
    ]

    def __init__(
        self, pick: bool = False, country: str = "", party_kind: str = "employer", text: str = ""
    ) -> None:
        super().__init__()
        self.pick = pick
        if not country and party_kind == "agency":
            country = LICENSING_COUNTRY
        self.country = country
        self.party_kind = party_kind
        self.text = text
        self.rows: list[Any] = []
        self.shown_kind = party_kind  # whose columns the table has

    def compose(self) -> ComposeResult:
        yield Header()
        if self.pick:
            title, help_text = PICK_TEXT[self.party_kind]
            yield Static(title, id="pick-title", classes="card-title")
            yield Static(help_text, classes="card-help")
        else:
            yield Static("Employers and agencies", classes="card-title")
        with Horizontal(id="search-bar"):
            yield text_input(id="search", value=self.text, placeholder="/ name")
            where = "licensing country (KE)" if self.party_kind == "agency" else "country (SA)"
            yield text_input(id="country", value=self.country, placeholder=where, max_length=2)
            yield Select(
                [("employer", "employer"), ("agency", "agency")],
                value=self.party_kind,
                allow_blank=False,
                id="party-kind",
                disabled=self.pick,
            )
        table: DataTable = DataTable(id="parties", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS[self.party_kind])
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

        def search() -> tuple[str, list[Any]]:
            return kind, offered(queries, kind, text, country) if text else []

        self.app.call(search, then=self.show, group="employer-search", exclusive=True)

    def show(self, found: tuple[str, list[Any]]) -> None:
        kind, matches = found
        self.rows = [m.row for m in matches]
        table = self.query_one("#parties", DataTable)
        table.clear(columns=kind != self.shown_kind)
        if kind != self.shown_kind:
            table.add_columns(*COLUMNS[kind])
            self.shown_kind = kind
        for match in matches:
            row = match.row
            third = licence_words(row) if row.party_kind == "agency" else row.city or "-"
            table.add_row(
                *literals(
                    row.party_id[:8],
                    row.name,
                    third,
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
