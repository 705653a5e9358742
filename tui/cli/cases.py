"""`msafiri case ...` and `msafiri incident ...`: every lifecycle command."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import click

from domain.cases import commands as cc
from domain.cases.service import CASE_HANDLERS
from domain.commands import Command
from domain.incidents import commands as ic
from domain.incidents.service import INCIDENT_HANDLERS
from tui.cli.context import CliContext, emit
from tui.cli.forms import describe_fields, read_input


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def command_for(
    command_class: type[Command], name: str, run: Callable[[CliContext, Command], dict]
) -> click.Command:
    @click.command(
        name=name, help=f"{command_class.__doc__ or name}\n\n{describe_fields(command_class)}"
    )
    @click.argument("fields", nargs=-1)
    @click.option(
        "--input", "input_file", type=click.Path(path_type=Path), help="JSON file of fields"
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
    @click.pass_obj
    def handler(ctx: CliContext, fields: tuple[str, ...], input_file: Path | None, as_json: bool):
        command = read_input(command_class, fields, input_file)
        result = run(ctx, command)
        ctx.after_write()
        emit(as_json, result, " ".join(f"{k}={v}" for k, v in result.items()))

    return handler


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


case_group.add_command(command_for(cc.RegisterMigrant, "register", _register))
for _class in CASE_HANDLERS:
    case_group.add_command(
        command_for(
            _class,
            kebab(_class.__name__),
            lambda ctx, command: _case_result(ctx.system.cases.execute(ctx.actor(), command)),
        )
    )


@case_group.command(name="show", help="Show a case as stored (its current state).")
@click.argument("migrant_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show_case(ctx: CliContext, migrant_id: UUID, as_json: bool) -> None:
    migrant = ctx.system.cases.get(migrant_id)
    data = _case_result(migrant) | {
        "full_name": migrant.full_name,
        "sex": migrant.sex,
        "county": migrant.county,
        "cycle": migrant.cycle,
        "destination": migrant.contract.destination_country if migrant.contract else None,
        "employer": migrant.contract.employer_name if migrant.contract else None,
    }
    text = "\n".join(f"{key:>14}: {value}" for key, value in data.items())
    emit(as_json, data, text)


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


incident_group.add_command(command_for(ic.ReportIncident, "report", _report))
for _class in INCIDENT_HANDLERS:
    incident_group.add_command(
        command_for(
            _class,
            kebab(_class.__name__).removesuffix("-incident"),
            lambda ctx, command: _incident_result(
                ctx.system.incidents.execute(ctx.actor(), command)
            ),
        )
    )
