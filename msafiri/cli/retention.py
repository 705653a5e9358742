"""`msafiri case retention`: closed cases past the retention period, each
with the erasure command a data-protection officer would run."""

from __future__ import annotations

import click

from msafiri.cli.context import CliContext
from projections.retention import RetentionReview


@click.command(
    name="retention",
    help="List closed cases kept longer than the retention period "
    "(MSAFIRI_RETENTION_YEARS, default 7) and propose their erasure. "
    "Nothing is erased: a data-protection officer runs the erase command shown.",
    short_help="Closed cases past the retention period, proposed for erasure.",
    epilog="\b\nExample:\n  msafiri --officer demo.dpo --role data_protection_officer "
    "case retention --json",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per case")
@click.pass_obj
def retention(ctx: CliContext, as_json: bool) -> None:
    years = ctx.settings.retention_years
    review = RetentionReview(ctx.system.read_models.queries.db, ctx.system.authz, years)
    due = review.due(ctx.actor())
    for case in due:
        item = {
            "case_number": case.case_number,
            "migrant_id": case.migrant_id,
            "closed_at": case.closed_at,
            "retention_ended_on": case.retention_ended_on.isoformat(),
            "proposed": "erasure",
            "erase_command": case.erase_command,
        }
        line = (
            f"{case.case_number}  closed {ctx.when(case.closed_at, 'date')}  retention ended "
            f"{case.retention_ended_on}  ->  {case.erase_command}"
        )
        ctx.emit_times(as_json, item, line)
    if not as_json:
        click.echo(
            f"{len(due)} closed case(s) past the {years}-year retention period; "
            "nothing was erased (a data-protection officer runs each command above)"
        )
