"""Gender-disaggregated figures from the statistics read model, with bars."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from domain.values import format_minor
from projections.claims_statistics import (
    CLAIM_SCREEN_DIMENSIONS,
    ClaimsTable,
    CoverageTable,
    claims_table,
    coverage_table,
)
from projections.placement_statistics import PLACEMENT_BY, PlacementTable, placement_table
from projections.statistics_tables import SCREEN_TABLES, StatisticsTable, build_table
from projections.suppression import show

BAR_WIDTH = 30
# The tables (title, subject, dimension) are listed in one place for the
# screen, the CLI and exports: projections/statistics_tables.py.
TABLES = tuple((t.title, t.subject, t.dimension) for t in SCREEN_TABLES)


def bar(count: int | None, largest: int, mark: str) -> str:
    # Bars are drawn with different characters, not only colours (NO_COLOR).
    # A hidden figure gets no bar: its length would give it away.
    if count is None:
        return ""
    width = round(BAR_WIDTH * count / largest) if largest else 0
    return mark * width


def render_table(stats: StatisticsTable) -> Table:
    caption = stats.legend
    table = Table(
        title=stats.title,
        title_justify="left",
        expand=False,
        caption=Text(caption) if caption else None,
        caption_justify="left",
    )
    for name, justify in (("", "left"), ("female", "right"), ("male", "right"), ("total", "right")):
        table.add_column(name, justify=justify)
    table.add_column("█ female  ░ male")
    rows = stats.rows
    largest = max((r[3] or 0 for r in rows), default=0)
    for value, female, male, total in rows:
        table.add_row(
            Text(value.replace("_", " ")),  # a value from the data: literal
            show(female),
            show(male),
            show(total),
            bar(female, largest, "█") + bar(male, largest, "░"),
        )
    if rows:
        table.add_row("all", *(show(v) for v in stats.totals), "", style="bold")
    return table


def titled(title: str, legend: str | None) -> Table:
    """A table with its title, and the suppression legend under it when a
    cell was hidden."""
    return Table(
        title=title,
        title_justify="left",
        caption=Text(legend) if legend else None,
        caption_justify="left",
    )


def render_claims(stats: ClaimsTable) -> Table:
    """Claims by sex (issue 16): counts, then amounts in major units of the
    row's currency; a hidden count hides its amounts."""
    table = titled(stats.title, stats.legend)
    table.add_column(stats.dimension)
    table.add_column("cur.")
    for measure in ("claims", "recovered", "outstanding"):
        for sex in ("F", "M", "all"):
            table.add_column(f"{measure} {sex}", justify="right")
    for value, currency, *figures in stats.rows:
        cells = [
            show(f) if n < 3 or f is None else format_minor(f, currency)
            for n, f in enumerate(figures)
        ]
        table.add_row(Text(value.replace("_", " ")), currency, *cells)
    return table


def render_coverage(stats: CoverageTable) -> Table:
    table = Table(title=stats.title, title_justify="left")
    for n, name in enumerate(stats.columns):
        table.add_column(name.replace("_", " "), justify="left" if n < 2 else "right")
    for row in stats.rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    return table


def render_placements(stats: PlacementTable) -> Table:
    """Incidents per 100 placements by agency or employer (issue 16): the
    registered names (households one row, unnamed), placements in full,
    incident counts and rates hidden with their small restricted cells."""
    table = titled(stats.title, stats.legend)
    table.add_column(stats.by)
    table.add_column("country")
    for name in ("placements", "restricted", "other", "incidents", "per 100"):
        table.add_column(name, justify="right")
    for n, row in enumerate((*stats.rows, stats.total)):
        name, country, placed, restricted, other, total, *rates = row
        table.add_row(
            Text(name),  # a registered name: literal, never markup
            Text(country),
            show(placed),
            show(restricted),
            show(other),
            show(total),
            rates[2] if rates[2] is not None else show(None),
            style="bold" if n == len(stats.rows) else None,
        )
    return table


Loaded = tuple[list[StatisticsTable], list[ClaimsTable], CoverageTable, list[PlacementTable]]


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

    live_contexts = frozenset({"cases", "incidents", "claims", "coverage", "employers"})

    def refresh_data(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        queries = self.app.read_side.queries

        threshold = self.app.system.settings.suppression_threshold

        def load() -> Loaded:
            return (
                [build_table(queries, spec, threshold) for spec in SCREEN_TABLES],
                [claims_table(queries.claims, by, threshold) for by in CLAIM_SCREEN_DIMENSIONS],
                coverage_table(queries.claims),
                [placement_table(queries.db, by, threshold) for by in PLACEMENT_BY],
            )

        self.app.call(load, then=self._show, group="stats")

    def _show(self, loaded: Loaded) -> None:
        tables, claims, coverage, placements = loaded
        # (title, [(value, female, male)]) with None where a figure is hidden.
        self.tables = [(t.title, [r[:3] for r in t.rows]) for t in tables]
        self.claim_tables = claims
        self.placement_tables = placements
        self.query_one("#stats", Static).update(
            Group(
                *(render_table(t) for t in tables),
                *(render_claims(t) for t in claims),
                render_coverage(coverage),
                *(render_placements(t) for t in placements),
            )
        )
