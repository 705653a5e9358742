"""Statistics without re-identification: small counts of restricted incident
categories are hidden, with complementary suppression so that no shown total
gives a hidden count away - in the algorithm, the statistics tables on both
backends, the CLI and its CSV export. (The TUI screen: tests/tui/test_screens.py.)"""

from __future__ import annotations

import csv
import itertools
import json
import random

import pytest

from domain.incidents.vocabulary import IncidentCategory
from domain.officers.commands import SetPassword
from projections.access_log.store import LogFilter
from projections.statistics_tables import SCREEN_TABLES, build_table, incident_spec
from projections.suppression import (
    HIDDEN,
    RESTRICTED_CATEGORIES,
    SuppressedTable,
    is_restricted,
    suppress_table,
)
from tests import factories
from tests.test_fund_cli import run
from tests.test_incidents import report as report_incident


def report(system, officers, migrant_id, category: str) -> None:
    extra = {"gbv_subtype": "sexual_harassment"} if category.startswith("sexual") else {}
    report_incident(system, officers, migrant_id, category=category, **extra)


def _grid(table: SuppressedTable) -> list[list[int | None]]:
    """The shown table with its totals as one (rows+1) x (columns+1) grid."""
    rows = [[*cells, total] for cells, total in zip(table.cells, table.row_totals, strict=True)]
    return [*rows, [*table.column_totals, table.grand_total]]


def _full(counts: list[list[int]]) -> list[list[int]]:
    rows = [[*r, sum(r)] for r in counts]
    return [*rows, [sum(col) for col in zip(*rows, strict=True)]]


def _other_table(truth: list[list[int]], shown, cell) -> list[list[int]] | None:
    """Another table of non-negative counts that adds up (every row and column
    to its total) and matches every shown figure, but differs at `cell`: a
    reader who sees only the shown figures cannot tell it from the truth.
    Searched by moving each hidden figure by -1, 0 or +1."""
    hidden = [(i, j) for i, row in enumerate(shown) for j, v in enumerate(row) if v is None]
    rows, cols = len(truth) - 1, len(truth[0]) - 1
    for steps in itertools.product((-1, 0, 1), repeat=len(hidden)):
        moved = dict(zip(hidden, steps, strict=True))
        if not moved[cell]:
            continue
        other = [[v + moved.get((i, j), 0) for j, v in enumerate(r)] for i, r in enumerate(truth)]
        if any(v < 0 for r in other for v in r):
            continue
        if all(sum(other[i][:cols]) == other[i][cols] for i in range(rows + 1)) and all(
            sum(other[i][j] for i in range(rows)) == other[rows][j] for j in range(cols + 1)
        ):
            return other
    return None


def _check(counts: list[list[int]], threshold: int = 5) -> SuppressedTable:
    keys = [f"r{n}" for n in range(len(counts))]
    table = suppress_table(keys, ("female", "male"), counts, threshold)
    truth, shown = _full(counts), _grid(table)
    for i, row in enumerate(truth):
        for j, value in enumerate(row):
            if 0 < value < threshold:  # every small figure, totals included, is hidden
                assert shown[i][j] is None, (counts, i, j)
            if shown[i][j] is not None:
                assert shown[i][j] == value  # what is shown is true
    lines = [*shown, *zip(*shown, strict=True)]
    for line in lines:  # never exactly one hidden figure in a row or column
        assert sum(v is None for v in line) != 1, (counts, shown)
    for i, row in enumerate(shown):
        for j, value in enumerate(row):
            if value is None:
                assert _other_table(truth, shown, (i, j)) is not None, (counts, shown, i, j)
    return table


def test_a_small_cell_gets_a_complement_in_its_row_and_its_column():
    table = _check([[3, 10], [20, 30], [12, 8]])
    # r0 female (3) is hidden; r0 male is hidden with it so that r0's shown
    # total (13) does not give 3 away; the column needs a second one too.
    assert table.cells[0] == (None, None)
    assert table.row_totals[0] == 13
    assert sum(v is None for v in (row[0] for row in table.cells)) >= 2
    assert table.grand_total == 83


def test_a_hidden_cell_cannot_be_recovered_from_any_shown_total():
    # Female total 23 and r0's total 13 are shown; r0 female (3) is not
    # recoverable: r0 = (3, 10) or (4, 9) with r1 = (20, 30) or (19, 31) both
    # fit every shown figure.
    table = _check([[3, 10], [20, 30]])
    truth, shown = _full([[3, 10], [20, 30]]), _grid(table)
    other = _other_table(truth, shown, (0, 0))
    assert other is not None and other[0][0] != 3


def test_a_small_total_is_hidden_and_zeros_are_shown_unless_needed():
    table = _check([[3, 0], [20, 30], [12, 8]])
    assert table.row_totals[0] is None  # 3 + 0 is a small count too
    assert table.cells[1] == (20, 30)


def test_unrestricted_rows_are_shown_in_full_unless_needed_as_complements():
    keys = ["unpaid_or_delayed_wages", "sexual_harassment_or_violence", "contract_substitution"]
    table = suppress_table(keys, ("female", "male"), [[2, 1], [3, 9], [40, 22]], 5, is_restricted)
    assert table.cells[0] != (2, 1) or table.cells[1][0] is not None  # 2, 1 alone are fine
    assert table.cells[1][0] is None
    nothing = suppress_table(keys, ("female", "male"), [[2, 1], [3, 9], [40, 22]], 5, False)
    assert nothing.hidden == 0


@pytest.mark.parametrize("seed", range(4))
def test_random_small_tables_never_give_a_hidden_count_away(seed):
    rng = random.Random(seed)
    for _ in range(40):
        rows = rng.randint(1, 4)
        counts = [
            [rng.choice((0, 1, 2, 3, 4, 5, 7, 9, 12, 30)) for _ in range(2)] for _ in range(rows)
        ]
        _check(counts)


def test_the_restricted_list_names_real_categories():
    assert {c.value for c in IncidentCategory} >= RESTRICTED_CATEGORIES
    assert is_restricted("sexual_harassment_or_violence") and not is_restricted(
        "unpaid_or_delayed_wages"
    )


def test_suppression_follows_the_one_sensitivity_map():
    """Who reads the free text and which counts are suppressed are decided by
    one list (domain/incidents/sensitivity.py), not a copy."""
    from domain.incidents import sensitivity

    assert RESTRICTED_CATEGORIES is sensitivity.RESTRICTED_CATEGORIES
    for category in IncidentCategory:
        assert is_restricted(category.value) == sensitivity.is_restricted(category.value)


# --- on both backends -----------------------------------------------------


def small_town(system, officers) -> None:
    """Four migrants abroad: three women with one sexual-violence incident
    each and a man with one; seven unpaid-wages incidents beside them."""
    for n, sex in enumerate(("female", "female", "female", "male")):
        migrant_id = factories.send_abroad(
            system,
            officers,
            full_name=f"Member {n}",
            sex=sex,
            national_id=f"{40_000_000 + n}",
            passport_number=f"AK{7_000_000 + n}",
            phone=f"+25471{n:07d}",
        )
        report(system, officers, migrant_id, "sexual_harassment_or_violence")
        for _ in range(2 if n < 3 else 1):
            report(system, officers, migrant_id, "unpaid_or_delayed_wages")
    system.keep_current()


def test_statistics_tables_hide_small_counts_of_restricted_categories(system, officers):
    small_town(system, officers)
    queries = system.read_models.queries
    by_category = build_table(queries, SCREEN_TABLES[3], 5)
    rows = {r[0]: r[1:] for r in by_category.rows}
    # Not restricted, but its small male cell is hidden as a complement: with
    # it shown, the totals would give the 3 women and 1 man away.
    assert rows["unpaid_or_delayed_wages"][0] == 6
    assert by_category.totals[2] == 11
    assert rows["sexual_harassment_or_violence"][:2] == (None, None)
    assert by_category.legend and "fewer than 5" in by_category.legend
    # The restricted incidents by county: 4 in all, so everything is hidden.
    county = build_table(queries, incident_spec("county", sorted(RESTRICTED_CATEGORIES)), 5)
    assert county.totals == (None, None, None) and county.legend
    assert all(figure is None for r in county.rows for figure in r[1:] if figure)


def test_the_cli_and_its_csv_export_show_the_same_hidden_cells(
    system, officers, settings, monkeypatch, capsys, tmp_path
):
    small_town(system, officers)
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    code, out, err = run(capsys, "statistics", "incidents", "--by", "category")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("sexual harassment"))
    assert line.split()[-3:] == [HIDDEN] * 3 or line.split()[-2:] == [HIDDEN, HIDDEN]
    assert "3" not in line.split()  # the three women are not shown
    assert "hidden: fewer than 5" in out

    export = tmp_path / "stats.csv"
    # A CSV is an export: it names who made it (refused without an officer).
    code, out, err = run(capsys, "statistics", "tables", "--json", "--csv", str(export))
    assert code == 2 and "acts as an officer" in err
    system.officers.set_password(
        officers.auditor, SetPassword(username="auditor", password="an auditor's own words")
    )
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "an auditor's own words")
    auditor = ("--officer", "auditor", "--role", "auditor")
    code, out, err = run(capsys, *auditor, "statistics", "tables", "--json", "--csv", str(export),
                         "--reason", "Ministry quarterly figures")  # fmt: skip
    assert code == 0, err
    [logged] = system.access_log.store.entries(LogFilter(action="export"), 10)
    assert logged["username"] == "auditor" and logged["reason"] == "Ministry quarterly figures"
    assert logged["detail"] == f"statistics tables to {export}"
    tables = {t["title"]: t for t in map(json.loads, out.splitlines())}
    row = next(r for r in tables["Incidents by category"]["rows"] if r[0].startswith("sexual"))
    assert row[1:3] == [None, None]
    with export.open(newline="") as handle:
        exported = [r for r in csv.reader(handle) if r[0] == "Incidents by category"]
    sgbv = next(r for r in exported if r[1] == "sexual_harassment_or_violence")
    assert sgbv[2:4] == [HIDDEN, HIDDEN]
    assert exported[-1][1] == "note" and "fewer than 5" in exported[-1][2]
