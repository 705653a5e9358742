"""Incidents per 100 placements, by recruitment agency or by employer (issue
16 item 6), for the statistics screen, `msafiri statistics placements` and
its CSV export alike.

A *placement* is a contract (or change of employer) linked to a registered
record - a row of `rm_placements` naming it, as the record's history at a
glance counts them (projections/employer_queries.py, party_history). Its
incidents are those reported while a migrant worked under it
(`rm_party_incidents`). A merged duplicate's placements and incidents count
under the record it was merged into, named by that record's registered name.

Rows name agencies and companies: their names are public-register data.
A household employer is a private person, so households are never named:
they make one row, "households (N)", N the number of household records
counted. Beyond the `limit` records with the most placements, the rest make
one row too ("other agencies (N)"), so the totals stay whole.

Placements are counts of contracts, shown in full like the other migrant
tables. Incidents are split into the restricted category group and the
others (domain/incidents/sensitivity.py) and suppressed exactly as the
other incident tables are (projections/suppression.py): a small count of
restricted incidents is hidden with its complements, and so is a small
total of incidents (it counts restricted ones). A rate whose count is
hidden is hidden too - with the placements shown it would give it away.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.db import ReadModelDb
from projections.suppression import SuppressedTable, is_restricted, legend, suppress_table

PLACEMENT_BY = ("agency", "employer")
GROUPS = ("restricted", "other")
HOUSEHOLD = "household"  # the employer kind never named
# Rows the statistics screen shows per table; the CLI takes --limit.
SCREEN_LIMIT = 20
NO_RATE = "-"  # no placements to divide by


@dataclass(frozen=True)
class PlacementTable:
    title: str
    by: str
    counts: SuppressedTable  # rows: GROUPS; columns: the table's row keys
    labels: dict[str, tuple[str, str]]  # row key -> (name, country)
    placements: dict[str, int]
    threshold: int

    columns = (
        "name",
        "country",
        "placements",
        "incidents restricted",
        "incidents other",
        "incidents total",
        "per 100 restricted",
        "per 100 other",
        "per 100 total",
    )

    @property
    def rows(self) -> list[tuple]:
        """(name, country, placements, restricted, other, total, rate x3), in
        the order chosen when the table was built (most placements first,
        the aggregate rows last: nothing hidden decides an order); None
        where hidden."""
        t = self.counts
        out = []
        for n, key in enumerate(t.column_keys):
            name, country = self.labels[key]
            placed = self.placements[key]
            figures = (t.cells[0][n], t.cells[1][n], t.column_totals[n])
            out.append((name, country, placed, *figures, *(_rate(f, placed) for f in figures)))
        return out

    @property
    def total(self) -> tuple:
        """The "all" row."""
        t = self.counts
        placed = sum(self.placements.values())
        figures = (t.row_totals[0], t.row_totals[1], t.grand_total)
        return ("all", "", placed, *figures, *(_rate(f, placed) for f in figures))

    @property
    def legend(self) -> str | None:
        return legend(self.threshold) if self.counts.hidden else None

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "by": self.by,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "totals": list(self.total),
            "hidden": self.counts.hidden,
            "legend": self.legend,
        }


def _rate(count: int | None, placements: int) -> str | None:
    if count is None:
        return None
    return f"{100 * count / placements:.1f}" if placements else NO_RATE


def placement_figures(db: ReadModelDb, by: str) -> list[dict]:
    """Per surviving record of one kind (merged duplicates counted under it):
    its name, kind, country, placements and incidents per category."""
    if by not in PLACEMENT_BY:
        raise ValueError(f"--by must be one of {', '.join(PLACEMENT_BY)}")
    column = f"{by}_id"
    survivor = (
        f"JOIN rm_parties p ON p.party_id = x.{column} "
        "JOIN rm_parties g ON g.party_id = p.canonical_id"
    )
    records: dict[str, dict] = {}

    def record(party_id, name, kind, country) -> dict:
        return records.setdefault(
            party_id,
            {
                "party_id": party_id,
                "name": name,
                "kind": kind,
                "country": country,
                "placements": 0,
                "incidents": {},
            },
        )

    for party_id, name, kind, country, n in db.fetchall(
        f"SELECT g.party_id, g.name, g.kind, g.country, count(*) FROM rm_placements x {survivor}"
        " GROUP BY g.party_id, g.name, g.kind, g.country"
    ):
        record(party_id, name, kind, country)["placements"] = int(n)
    for party_id, name, kind, country, category, n in db.fetchall(
        f"SELECT g.party_id, g.name, g.kind, g.country, x.category, count(*)"
        f" FROM rm_party_incidents x {survivor}"
        " GROUP BY g.party_id, g.name, g.kind, g.country, x.category"
    ):
        record(party_id, name, kind, country)["incidents"][category] = int(n)
    return sorted(records.values(), key=lambda r: r["party_id"])


def placement_table(
    db: ReadModelDb, by: str, threshold: int, limit: int = SCREEN_LIMIT
) -> PlacementTable:
    """The table of `msafiri statistics placements --by BY --limit LIMIT`."""
    if limit < 1:
        raise ValueError("--limit must be at least 1")
    figures = placement_figures(db, by)
    households = [f for f in figures if f["kind"] == HOUSEHOLD]
    named = [f for f in figures if f["kind"] != HOUSEHOLD]
    # Most placements first (shown in full, so the order tells nothing hidden).
    named.sort(key=lambda f: (-f["placements"], f["name"], f["party_id"]))
    shown, rest = named[:limit], named[limit:]
    groups: list[tuple[str, tuple[str, str], list[dict]]] = [
        (f["party_id"], (f["name"], f["country"]), [f]) for f in shown
    ]
    noun = "agencies" if by == "agency" else "employers"
    if rest:
        groups.append(("other", (f"other {noun} ({len(rest)})", ""), rest))
    if households:
        groups.append(("households", (f"households ({len(households)})", ""), households))
    keys = [key for key, _, _ in groups]
    counts = [[0] * len(keys) for _ in GROUPS]
    placements: dict[str, int] = {}
    for n, (key, _, members) in enumerate(groups):
        placements[key] = sum(f["placements"] for f in members)
        for member in members:
            for category, count in member["incidents"].items():
                counts[0 if is_restricted(category) else 1][n] += count
    # Suppressed with the groups as rows: the rule of projections/suppression.py
    # is row-wise (restricted rows, and the totals row under them - here each
    # record's total of incidents, which counts restricted ones).
    table = suppress_table(GROUPS, keys, counts, threshold, lambda group: group == GROUPS[0])
    title = f"Incidents per 100 placements by {by}"
    return PlacementTable(
        title, by, table, {key: label for key, label, _ in groups}, placements, threshold
    )
