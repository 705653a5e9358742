"""`msafiri case ...` and `msafiri incident ...`: every lifecycle command."""

from __future__ import annotations

import re
from uuid import UUID

import click

from domain.amounts import format_major
from domain.cases import commands as cc
from domain.cases.consent import RecordConsent
from domain.cases.service import CASE_HANDLERS
from domain.commands import Command
from domain.incidents import commands as ic
from domain.incidents.service import INCIDENT_HANDLERS
from domain.officers import access
from domain.values import Role
from msafiri.cli.context import CliContext, emit
from msafiri.cli.forms import command_for
from msafiri.cli.retention import retention


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _case_result(migrant) -> dict:
    return {
        "migrant_id": str(migrant.id),
        "case_number": migrant.case_number,
        "stage": migrant.stage.value,
        "version": migrant.version,
    }


@click.group(name="case", help="Register and work migrants' cases.")
def case_group() -> None:
    pass


def _register(ctx: CliContext, command: Command) -> dict:
    migrant_id = ctx.system.cases.register(ctx.actor(), command)
    return _case_result(ctx.system.cases.get(migrant_id))


case_group.add_command(
    command_for(cc.RegisterMigrant, "register", _register, "case", (Role.REGISTRATION_OFFICER,))
)
# Names the issue and the docs use, shorter than the command's own.
CLI_NAMES = {RecordConsent: "consent"}
for _class, (_roles, _) in CASE_HANDLERS.items():
    case_group.add_command(
        command_for(
            _class,
            CLI_NAMES.get(_class, kebab(_class.__name__)),
            lambda ctx, command: _case_result(ctx.system.cases.execute(ctx.actor(), command)),
            "case",
            _roles,
        )
    )


case_group.add_command(retention)


@case_group.command(
    name="show",
    help="Show a case as stored (its current state).\n\nCASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri case show MS-OLX42-NIJBR --json",
)
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print the case as JSON")
@click.pass_obj
def show_case(ctx: CliContext, case: str, as_json: bool) -> None:
    migrant = ctx.system.cases.get(UUID(ctx.reference("migrant_id", case)))
    ctx.log_read(access.CASE_OPEN, subject_kind="case", subject_id=migrant.id)
    wage = migrant.contract.monthly_wage if migrant.contract else None
    data = _case_result(migrant) | {
        "full_name": migrant.full_name,
        "sex": migrant.sex,
        "county": migrant.county,
        "cycle": migrant.cycle,
        "destination": migrant.contract.destination_country if migrant.contract else None,
        "employer": migrant.contract.employer_name if migrant.contract else None,
        "monthly_wage": format_major(wage.amount_minor, wage.currency) if wage else None,
    }
    text = "\n".join(f"{key:>14}: {value}" for key, value in data.items())
    emit(as_json, data, text)


@case_group.command(
    name="search",
    help="Find cases by name, case number, national id, passport or phone "
    "(what the text starts with; all cases by name when no text).",
    epilog='\b\nExample:\n  msafiri case search "wanjiku mw" --stage on_site --limit 20',
)
@click.argument("text", default="")
@click.option("--stage", help="only cases in this stage, e.g. on_site")
@click.option("--destination", help="only cases bound for this country (ISO code), e.g. SA")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per case")
@click.pass_obj
def search_cases(
    ctx: CliContext,
    text: str,
    stage: str | None,
    destination: str | None,
    limit: int,
    as_json: bool,
) -> None:
    page = ctx.system.read_models.queries.search_cases(
        text, stage=stage, destination=destination, limit=limit
    )
    ctx.log_read(
        access.SEARCH, detail=access.search_detail(text, stage=stage, destination=destination)
    )
    for row in page.rows:
        item = {
            "case_number": row.case_number,
            "migrant_id": row.migrant_id,
            "full_name": row.full_name,
            "sex": row.sex,
            "stage": row.stage,
            "destination": row.destination,
            "open_incidents": row.open_incidents,
        }
        line = (
            f"{row.case_number}  {row.full_name}  {row.sex}  {row.stage}  "
            f"{row.destination or '-'}  open incidents {row.open_incidents}"
        )
        emit(as_json, item, line)
    if not page.rows and not as_json:
        click.echo("no case matches")


@click.group(name="incident", help="Report and follow up incidents abroad.")
def incident_group() -> None:
    pass


def _incident_result(incident) -> dict:
    return {
        "incident_id": str(incident.id),
        "status": incident.status.value,
        "version": incident.version,
    }


def _report(ctx: CliContext, command: Command) -> dict:
    incident_id = ctx.system.incidents.report(ctx.actor(), command)
    return _incident_result(ctx.system.incidents.get(incident_id))


incident_group.add_command(
    command_for(ic.ReportIncident, "report", _report, "incident", (Role.LABOUR_ATTACHE,))
)
for _class, (_roles, _) in INCIDENT_HANDLERS.items():
    incident_group.add_command(
        command_for(
            _class,
            kebab(_class.__name__).removesuffix("-incident"),
            lambda ctx, command: _incident_result(
                ctx.system.incidents.execute(ctx.actor(), command)
            ),
            "incident",
            _roles,
        )
    )


@case_group.command(
    name="erase",
    help="Erase a person's personal data (crypto-shredding; docs/encryption.md). A "
    "data-protection officer requests it with --reason (the legal basis); a second, "
    "different one approves it with --approve, which destroys the person's data keys. "
    "--reapply finishes erasures already approved (after an interrupted --approve, or "
    "a restore of a backup older than them): CASE's, or without CASE every one the log "
    "records; running it again changes nothing.",
    epilog='\b\nExample:\n  msafiri case erase MS-OLX42-NIJBR --reason "DPA 2019 s.40, '
    'request 17"\n  msafiri case erase MS-OLX42-NIJBR --approve\n  msafiri case erase --reapply',
)
@click.argument("case", required=False)
@click.option(
    "--reason", help="the legal basis (law, request reference), never the person's details"
)
@click.option("--approve", is_flag=True, help="approve another officer's request and erase")
@click.option("--reapply", is_flag=True, help="finish erasures already approved (idempotent)")
@click.pass_obj
def erase_case(
    ctx: CliContext, case: str | None, reason: str | None, approve: bool, reapply: bool
) -> None:
    from msafiri.erasure import approve_and_erase
    from msafiri.erasure import reapply as reapply_erasures

    if sum((bool(reason), approve, reapply)) != 1:
        raise click.UsageError("give one of --reason (to request), --approve or --reapply")
    if case is None and not reapply:
        raise click.UsageError("name the CASE to erase")
    if reapply:
        migrant_ids = None if case is None else [UUID(ctx.reference("migrant_id", case))]
        done = reapply_erasures(ctx.system, ctx.actor(), migrant_ids)
        click.echo(
            f"re-applied {len(done)} erasure(s): data keys destroyed, book snapshots naming "
            "them dropped, read models rebuilt"
        )
        return
    assert case is not None
    migrant_id = UUID(ctx.reference("migrant_id", case))
    if approve:
        destroyed = approve_and_erase(ctx.system, ctx.actor(), migrant_id)
        click.echo(f"erased {case}: {destroyed} data key(s) destroyed, read models rebuilt")
    else:
        ctx.system.cases.request_erasure(
            ctx.actor(), cc.RequestErasure(migrant_id=migrant_id, legal_basis=reason)
        )
        click.echo(f"erasure of {case} requested; a second data-protection officer approves it")
    ctx.system.keep_current()
