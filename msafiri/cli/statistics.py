"""`msafiri statistics tables|incidents`: the statistics screen's figures for
scripts, as text, JSON or a CSV export, with the same small cells hidden
(projections/suppression.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from domain.amounts import minor_to_major_text
from domain.incidents.vocabulary import IncidentCategory
from domain.values import format_minor
from msafiri.cli.context import CliContext
from projections.claims_queries import CLAIM_BY
from projections.claims_statistics import claims_table, coverage_table
from projections.placement_statistics import PLACEMENT_BY, SCREEN_LIMIT, placement_table
from projections.statistics_tables import (
    INCIDENT_BY,
    SCREEN_TABLES,
    SEXES,
    StatisticsTable,
    build_table,
    incident_spec,
)
from projections.suppression import HIDDEN, RESTRICTED_CATEGORIES, show


@click.group(
    name="statistics",
    help="Figures by sex; small counts of restricted incident categories are hidden.",
)
def statistics_group() -> None:
    pass


def _output(function):
    function = click.option("--json", "as_json", is_flag=True, help="One JSON object per table")(
        function
    )
    function = click.option("--reason", help="Why the CSV is exported (in the access log)")(
        function
    )
    return click.option(
        "--csv",
        "csv_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the figures to this CSV file (hidden figures as ·); an export, "
        "so it is made by a signed-in officer and logged.",
    )(function)


@statistics_group.command(
    name="tables",
    help="Every table of the statistics screen (F3 in the terminal UI).",
    epilog="\b\nExample:\n  msafiri statistics tables --csv statistics.csv",
)
@_output
@click.pass_obj
def tables(ctx: CliContext, as_json: bool, csv_path: Path | None, reason: str | None) -> None:
    threshold = ctx.settings.suppression_threshold
    queries = ctx.system.read_models.queries
    _logged(ctx, "statistics tables", csv_path, reason)
    _emit([build_table(queries, spec, threshold) for spec in SCREEN_TABLES], as_json, csv_path)


@statistics_group.command(
    name="incidents",
    help="Incidents by sex and one of category, country, county or age band, "
    "of some categories or all.",
    epilog="\b\nExample:\n  msafiri statistics incidents --by county --restricted",
)
@click.option("--by", "by", type=click.Choice(INCIDENT_BY), default="country", show_default=True)
@click.option(
    "--category",
    "categories",
    multiple=True,
    type=click.Choice([c.value for c in IncidentCategory]),
    help="Only this category (repeat for several).",
)
@click.option("--restricted", is_flag=True, help="Only the restricted categories.")
@_output
@click.pass_obj
def incidents(
    ctx: CliContext,
    by: str,
    categories: tuple[str, ...],
    restricted: bool,
    as_json: bool,
    csv_path: Path | None,
    reason: str | None,
) -> None:
    _logged(ctx, f"statistics incidents by {by}", csv_path, reason)
    chosen = sorted(set(categories) | (RESTRICTED_CATEGORIES if restricted else set()))
    spec = incident_spec(by, chosen or None)
    table = build_table(ctx.system.read_models.queries, spec, ctx.settings.suppression_threshold)
    _emit([table], as_json, csv_path)


def _logged(ctx: CliContext, what: str, csv_path: Path | None, reason: str | None) -> None:
    """A CSV written is an export: logged, by a signed-in officer."""
    if csv_path is not None:
        ctx.log_export(f"{what} to {csv_path}", reason, subject_kind="statistics")


def _emit(tables: list[StatisticsTable], as_json: bool, csv_path: Path | None) -> None:
    if csv_path is not None:
        _write_csv(csv_path, tables)
    for table in tables:
        if as_json:
            click.echo(json.dumps(table.as_dict(), sort_keys=True))
        else:
            click.echo(_text(table))
    if csv_path is not None and not as_json:
        click.echo(f"written to {csv_path}")


def _text(table: StatisticsTable) -> str:
    header = ["", *SEXES, "total"]
    body = [[value.replace("_", " "), *map(show, figures)] for value, *figures in table.rows]
    body.append(["all", *map(show, table.totals)])
    widths = [max(len(r[n]) for r in (header, *body)) for n in range(len(header))]
    lines = [table.title]
    for row in (header, *body):
        lines.append(
            "  ".join(
                cell.ljust(w) if n == 0 else cell.rjust(w)
                for n, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    if table.legend:
        lines.append(table.legend)
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, tables: list[StatisticsTable]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["table", "value", *SEXES, "total"])
        for table in tables:
            for value, *figures in table.rows:
                writer.writerow([table.title, value, *map(_plain, figures)])
            writer.writerow([table.title, "all", *map(_plain, table.totals)])
            if table.legend:
                writer.writerow([table.title, "note", table.legend, "", ""])


def _plain(value: int | None) -> str | int:
    # Numbers without separators for spreadsheets; the hidden mark as text.
    return HIDDEN if value is None else value


# --- issue 16: claims and coverage ------------------------------------------------


@statistics_group.command(
    name="claims",
    help="Claims by sex: how many, recovered and outstanding (major units, per "
    "currency), by destination, sector, agency, employer or kind. Small counts of "
    "claims on restricted incidents are hidden, and their amounts with them.",
    epilog="\b\nExample:\n  msafiri statistics claims --by agency --csv claims.csv",
)
@click.option("--by", "by", type=click.Choice(list(CLAIM_BY)), default="destination")
@_output
@click.pass_obj
def claims(
    ctx: CliContext, by: str, as_json: bool, csv_path: Path | None, reason: str | None
) -> None:
    _logged(ctx, f"statistics claims by {by}", csv_path, reason)
    reads = ctx.system.read_models.queries.claims
    table = claims_table(reads, by, ctx.settings.suppression_threshold)
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["table", *table.columns])
            for row in table.rows:
                writer.writerow([table.title, *_claim_cells(row, major=False)])
            if table.legend:
                writer.writerow([table.title, "note", table.legend])
    if as_json:
        click.echo(json.dumps(table.as_dict(), sort_keys=True))
    else:
        click.echo(_grid(table.title, table.columns, [_claim_cells(r) for r in table.rows]))
        if table.legend:
            click.echo(table.legend)
    if csv_path is not None and not as_json:
        click.echo(f"written to {csv_path}")


def _claim_cells(row: tuple, major: bool = True) -> list[str]:
    """A claims row as text: counts, then amounts in major units of its currency
    (the CSV keeps the decimal point, without thousands separators)."""
    value, currency, *figures = row
    cells = [value.replace("_", " ") if major else value, currency]
    for n, figure in enumerate(figures):
        if figure is None:
            cells.append(HIDDEN)
        elif n < 3:
            cells.append(str(figure))
        else:
            cells.append(
                format_minor(figure, currency) if major else minor_to_major_text(figure, currency)
            )
    return cells


@statistics_group.command(
    name="coverage",
    help="Coverage rates by destination and sex: insured, registered with the "
    "destination's social security, under an SSA in force.",
    epilog="\b\nExample:\n  msafiri statistics coverage --csv coverage.csv",
)
@_output
@click.pass_obj
def coverage(ctx: CliContext, as_json: bool, csv_path: Path | None, reason: str | None) -> None:
    _logged(ctx, "statistics coverage", csv_path, reason)
    table = coverage_table(ctx.system.read_models.queries.claims)
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["table", *table.columns])
            for row in table.rows:
                writer.writerow([table.title, *row])
    if as_json:
        click.echo(json.dumps(table.as_dict(), sort_keys=True))
    else:
        click.echo(_grid(table.title, table.columns, [[str(c) for c in r] for r in table.rows]))
    if csv_path is not None and not as_json:
        click.echo(f"written to {csv_path}")


@statistics_group.command(
    name="placements",
    help="Incidents per 100 placements by recruitment agency or employer: "
    "placements (contracts linked to the registered record, merged duplicates "
    "under their survivor), incidents of the restricted category group and of "
    "the others, and the rates. Households are one row, never named; small "
    "counts of restricted incidents are hidden.",
    epilog="\b\nExample:\n  msafiri statistics placements --by employer --limit 50 "
    "--csv placements.csv --reason 'quarterly report'",
)
@click.option("--by", "by", type=click.Choice(PLACEMENT_BY), default="agency", show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=SCREEN_LIMIT,
    show_default=True,
    help="Records named, most placements first; the rest make one row.",
)
@_output
@click.pass_obj
def placements(
    ctx: CliContext,
    by: str,
    limit: int,
    as_json: bool,
    csv_path: Path | None,
    reason: str | None,
) -> None:
    _logged(ctx, f"statistics placements by {by}", csv_path, reason)
    db = ctx.system.read_models.queries.db
    table = placement_table(db, by, ctx.settings.suppression_threshold, limit)
    body = [[_shown(c) for c in row] for row in (*table.rows, table.total)]
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["table", *table.columns])
            for row in (*table.rows, table.total):
                writer.writerow([table.title, *(HIDDEN if c is None else c for c in row)])
            if table.legend:
                writer.writerow([table.title, "note", table.legend])
    if as_json:
        click.echo(json.dumps(table.as_dict(), sort_keys=True))
    else:
        click.echo(_grid(table.title, table.columns, body))
        if table.legend:
            click.echo(table.legend)
    if csv_path is not None and not as_json:
        click.echo(f"written to {csv_path}")


def _shown(cell) -> str:
    if isinstance(cell, int):
        return show(cell)
    return HIDDEN if cell is None else str(cell)


def _grid(title: str, header, body: list[list[str]]) -> str:
    header = [h.replace("_", " ") for h in header]
    widths = [max(len(r[n]) for r in (header, *body)) for n in range(len(header))]
    lines = [title]
    for row in (header, *body):
        lines.append(
            "  ".join(
                cell.ljust(w) if n < 2 else cell.rjust(w)
                for n, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines) + "\n"
