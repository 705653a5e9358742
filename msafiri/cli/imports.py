"""`msafiri import members|contributions FILE.csv`: bring in an existing registry."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from domain.errors import InvalidCommand
from domain.values import Role
from msafiri.cli.context import CliContext, emit
from msafiri.registry_import import BadFile, ImportReport, import_contributions, import_members

REQUIRED = {
    import_members: ("import members", Role.REGISTRATION_OFFICER),
    import_contributions: ("import contributions", Role.FUND_OFFICER),
}

# Exit status 2 when lines were bad and nothing was stored (docs/cli.md).
EXIT_BAD_INPUT = 2


@click.group(name="import", help="Bring in members or contributions from a CSV file.")
def import_group() -> None:
    pass


def _options(function):
    function = click.option("--json", "as_json", is_flag=True)(function)
    function = click.option(
        "--rejects",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where --skip-bad writes the rejected lines (default: FILE.rejects.csv beside FILE).",
    )(function)
    function = click.option(
        "--skip-bad", is_flag=True, help="Store the good lines even if some are bad."
    )(function)
    function = click.option(
        "--dry-run", is_flag=True, help="Only validate every line; store nothing."
    )(function)
    return click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))(
        function
    )


@import_group.command(
    name="members",
    help="Register members (docs/import.md lists the columns).",
    epilog="\b\nExample:\n  msafiri --officer g.wanjiru --role registration_officer "
    "import members docs/examples/members.csv --dry-run",
)
@_options
@click.pass_obj
def members(ctx: CliContext, file: Path, dry_run, skip_bad, rejects, as_json) -> None:
    _run(ctx, import_members, file, dry_run, skip_bad, rejects, as_json)


@import_group.command(
    name="contributions",
    help="Record contributions (docs/import.md lists the columns).",
    epilog="\b\nExample:\n  msafiri --officer f.chebet --role fund_officer "
    "import contributions docs/examples/contributions.csv --skip-bad",
)
@_options
@click.pass_obj
def contributions(ctx: CliContext, file: Path, dry_run, skip_bad, rejects, as_json) -> None:
    _run(ctx, import_contributions, file, dry_run, skip_bad, rejects, as_json)


def _run(ctx: CliContext, do_import, file, dry_run, skip_bad, rejects, as_json) -> None:
    actor = ctx.actor()
    # Refused before the progress bar starts (the import checks again itself).
    action, role = REQUIRED[do_import]
    ctx.system.authz.require(actor, action, role)
    lines = _count_lines(file)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=as_json, transient=False, console=None) as progress:
        checking = progress.add_task("validating", total=lines)
        storing = progress.add_task("importing", total=lines, visible=False)

        def planned(n: int) -> None:
            progress.update(storing, total=n, visible=True)

        try:
            report = do_import(
                ctx.system,
                actor,
                file,
                dry_run=dry_run,
                skip_bad=skip_bad,
                rejects=rejects,
                validated=lambda n: progress.advance(checking, n),
                stored=lambda n: progress.advance(storing, n),
                storing=planned,
            )
        except BadFile as error:  # wrong columns, unreadable: bad input, nothing stored
            progress.stop()
            raise InvalidCommand([("FILE", str(error))]) from None
    if report.stored:
        ctx.after_write()
        # A bulk write leaves the planner's statistics stale (nothing else
        # may run ANALYZE: autovacuum can be off): refresh them now.
        ctx.system.read_models.analyze(events=True)
    for problem in report.problems:
        if not as_json:
            click.echo(str(problem), err=True)
    emit(as_json, report.as_dict(), _summary(report, file))
    if report.problems and not (skip_bad and not dry_run):
        sys.exit(EXIT_BAD_INPUT)


def _summary(report: ImportReport, file: Path) -> str:
    if report.problems and not report.stored and not report.rejects_file:
        verb = "checked" if report.dry_run else "nothing imported"
        return (
            f"{file}: {report.bad_lines:,} of {report.lines:,} lines are bad; {verb} "
            f"(fix them, or give --skip-bad to import the good lines)"
        )
    if report.dry_run:
        return (
            f"{file}: all {report.lines:,} lines are valid; {report.already_imported:,} "
            f"already imported; nothing stored (--dry-run)"
        )
    text = (
        f"{file}: {report.imported:,} {report.kind} imported, "
        f"{report.already_imported:,} already imported"
    )
    if report.rejects_file:
        text += f", {report.bad_lines:,} bad lines written to {report.rejects_file}"
    return text


def _count_lines(file: Path) -> int:
    """Data lines, for the progress bar's total (a quoted field may span lines:
    then the bar simply ends a little early)."""
    with file.open("rb") as handle:
        return max(0, sum(1 for raw in handle if raw.strip()) - 1)
