"""The statistics tables people see - by sex, across destination, stage,
sector, category, country, county or age band - with small cells suppressed.

The TUI statistics screen, `msafiri statistics` and its CSV/JSON exports all
build their tables here, so they show the same figures and hide the same
cells (projections/suppression.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from projections.queries import Queries
from projections.suppression import (
    RESTRICTED_CATEGORIES,
    SuppressedTable,
    is_restricted,
    legend,
    suppress_table,
)

SEXES = ("female", "male")
INCIDENT_BY = ("category", "country", "county", "age_band")


@dataclass(frozen=True)
class TableSpec:
    title: str
    subject: str  # "migrants" or "incidents"
    dimension: str
    # Incidents of these categories only (None: every category).
    categories: tuple[str, ...] | None = None


SCREEN_TABLES = (
    TableSpec("Migrants by destination", "migrants", "destination"),
    TableSpec("Migrants by stage", "migrants", "stage"),
    TableSpec("Migrants by sector", "migrants", "sector"),
    TableSpec("Incidents by category", "incidents", "category"),
    TableSpec("Incidents by country", "incidents", "country"),
    *(
        TableSpec(
            f"Restricted incidents by {name}",
            "incidents",
            dimension,
            tuple(sorted(RESTRICTED_CATEGORIES)),
        )
        for name, dimension in (
            ("country", "country"),
            ("county", "county"),
            ("age band", "age_band"),
        )
    ),
)


@dataclass(frozen=True)
class StatisticsTable:
    title: str
    dimension: str
    table: SuppressedTable
    threshold: int

    @property
    def rows(self) -> list[tuple[str, int | None, int | None, int | None]]:
        """(value, female, male, total), `None` where hidden. Largest shown
        total first; rows whose total is hidden come last, by name, so that
        the order does not tell how large a hidden total is."""
        t = self.table
        rows = [
            (str(key), *cells, total)
            for key, cells, total in zip(t.row_keys, t.cells, t.row_totals, strict=True)
        ]
        return sorted(rows, key=lambda r: (r[3] is None, -(r[3] or 0), r[0]))

    @property
    def totals(self) -> tuple[int | None, int | None, int | None]:
        return (*self.table.column_totals, self.table.grand_total)

    @property
    def legend(self) -> str | None:
        """Why some figures are hidden, when some are."""
        return legend(self.threshold) if self.table.hidden else None

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "dimension": self.dimension,
            "columns": [self.dimension, *SEXES, "total"],
            "rows": [list(r) for r in self.rows],
            "totals": list(self.totals),
            "hidden": self.table.hidden,
            "legend": self.legend,
        }


def build_table(queries: Queries, spec: TableSpec, threshold: int) -> StatisticsTable:
    """One table by sex, with the suppression rule of its subject: migrant
    counts are shown in full; incident counts are suppressed wherever a row
    can count a restricted category (a table over every category includes
    them, and a category row only when its category is restricted)."""
    if spec.subject == "migrants":
        rows = queries.migrant_statistics(by=("sex", spec.dimension))
        measure, restricted = "migrants", False
    elif spec.dimension in ("county", "age_band") or spec.categories is not None:
        rows = queries.incidents_by_person(("sex", spec.dimension), spec.categories)
        measure = "incidents"
        restricted = _restricted_rule(spec)
    else:
        rows = queries.incident_statistics(by=("sex", spec.dimension))
        measure, restricted = "incidents", _restricted_rule(spec)
    counts: dict[str, list[int]] = {}
    for row in rows:
        cells = counts.setdefault(row[spec.dimension] or "-", [0, 0])
        cells[0 if row["sex"] == "female" else 1] += row[measure]
    keys = sorted(counts)
    table = suppress_table(keys, SEXES, [counts[k] for k in keys], threshold, restricted)
    return StatisticsTable(spec.title, spec.dimension, table, threshold)


def _restricted_rule(spec: TableSpec):
    if spec.dimension == "category":
        return is_restricted
    if spec.categories is not None:
        return any(is_restricted(c) for c in spec.categories)
    return True


def incident_spec(by: str, categories: Sequence[str] | None) -> TableSpec:
    """The table of `msafiri statistics incidents --by BY [--category ...]`."""
    if by not in INCIDENT_BY:
        raise ValueError(f"--by must be one of {', '.join(INCIDENT_BY)}")
    which = ", ".join(categories) if categories else "all categories"
    title = f"Incidents ({which}) by {by.replace('_', ' ')}"
    return TableSpec(title, "incidents", by, tuple(categories) if categories else None)
