"""Gender-disaggregated figures from the statistics read model, with bars."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

BAR_WIDTH = 30
# (title, which statistics, the dimension shown by sex)
TABLES = (
    ("Migrants by destination", "migrants", "destination"),
    ("Migrants by stage", "migrants", "stage"),
    ("Migrants by sector", "migrants", "sector"),
    ("Incidents by category", "incidents", "category"),
    ("Incidents by country", "incidents", "country"),
)


def by_sex(rows: list[dict[str, Any]], dimension: str, measure: str) -> list[tuple[str, int, int]]:
    """[{dimension, sex, measure}] -> [(value, female, male)] largest first."""
    table: dict[str, list[int]] = {}
    for row in rows:
        counts = table.setdefault(row[dimension] or "-", [0, 0])
        counts[0 if row["sex"] == "female" else 1] += row[measure]
    return sorted(((k, f, m) for k, (f, m) in table.items()), key=lambda r: (-(r[1] + r[2]), r[0]))


def bar(count: int, largest: int, mark: str) -> str:
    # Bars are drawn with different characters, not only colours (NO_COLOR).
    width = round(BAR_WIDTH * count / largest) if largest else 0
    return mark * width


def render_table(title: str, rows: list[tuple[str, int, int]]) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for name, justify in (("", "left"), ("female", "right"), ("male", "right"), ("total", "right")):
        table.add_column(name, justify=justify)
    table.add_column("█ female  ░ male")
    largest = max((f + m for _, f, m in rows), default=0)
    for value, female, male in rows:
        table.add_row(
            value.replace("_", " "),
            f"{female:,}",
            f"{male:,}",
            f"{female + male:,}",
            bar(female, largest, "█") + bar(male, largest, "░"),
        )
    if rows:
        table.add_row(
            "all",
            f"{sum(r[1] for r in rows):,}",
            f"{sum(r[2] for r in rows):,}",
            f"{sum(r[1] + r[2] for r in rows):,}",
            "",
            style="bold",
        )
    return table


class StatisticsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="stats.back"),
        Binding("r", "reload", "Reload", id="stats.reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("Statistics (gender-disaggregated)", classes="card-title")
            yield Static("reading...", id="stats")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    live_contexts = frozenset({"cases", "incidents"})

    def refresh_data(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        queries = self.app.read_side.queries

        def load() -> list[tuple[str, list[tuple[str, int, int]]]]:
            out = []
            for title, which, dimension in TABLES:
                if which == "migrants":
                    rows = queries.migrant_statistics(by=("sex", dimension))
                    out.append((title, by_sex(rows, dimension, "migrants")))
                else:
                    rows = queries.incident_statistics(by=("sex", dimension))
                    out.append((title, by_sex(rows, dimension, "incidents")))
            return out

        self.app.call(load, then=self._show, group="stats")

    def _show(self, tables: list[tuple[str, list[tuple[str, int, int]]]]) -> None:
        self.tables = tables
        self.query_one("#stats", Static).update(
            Group(*(render_table(title, rows) for title, rows in tables))
        )
