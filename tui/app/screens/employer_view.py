"""One employer's or agency's history at a glance (issue 16 item 2):
migrants placed, incidents by category and severity (counts only - a
restricted category's records are reached through their cases, where
need-to-know applies), claims, watchlist status."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from projections.employer_queries import history_lines


class EmployerScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="employer.back")]

    def __init__(self, party_id: str) -> None:
        super().__init__()
        self.party_id = party_id
        self.history: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("", id="employer-title", classes="card-title")
            yield Static("", id="employer-history")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        queries = self.app.read_side.queries
        self.app.call(queries.party_history, self.party_id, then=self.show, group="employer")

    def show(self, history: Any) -> None:
        self.history = history
        if history is None:
            self.query_one("#employer-title", Static).update("No such employer or agency")
            return
        lines = history_lines(history)
        # Names are data: shown as typed, never as markup.
        self.query_one("#employer-title", Static).update(Text(lines[0]))
        self.query_one("#employer-history", Static).update(Text("\n".join(lines[1:])))
