"""`msafiri officer ...`: the first administrator, officers and their roles."""

from __future__ import annotations

from pathlib import Path

import click

from domain.officers import commands as oc
from tui.cli.cases import command_for
from tui.cli.context import CliContext, emit


@click.group(name="officer", help="Manage officers and roles (administrators).")
def officer_group() -> None:
    pass


@officer_group.command(name="init", help="First run: create the first administrator.")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--station", default="Headquarters", show_default=True)
@click.option("--password-file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def init(ctx: CliContext, username, full_name, station, password_file, as_json) -> None:
    if password_file:
        password = password_file.read_text().strip()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    command = oc.CreateFirstAdministrator.parse(
        {"username": username, "full_name": full_name, "station": station, "password": password}
    )
    officer_id = ctx.system.officers.create_first_administrator(command)
    emit(as_json, {"officer_id": str(officer_id)}, f"administrator {username} created")


def _officer_result(ctx: CliContext, username: str) -> dict:
    officer = ctx.system.officers.get(username)
    return {
        "officer_id": str(officer.id),
        "username": officer.username,
        "roles": ",".join(sorted(officer.roles)),
        "active": officer.active,
    }


def _run(method_name: str):
    def run(ctx: CliContext, command) -> dict:
        getattr(ctx.system.officers, method_name)(ctx.actor(), command)
        return _officer_result(ctx, command.username)

    return run


for _class, _name, _method in (
    (oc.RegisterOfficer, "register", "register"),
    (oc.GrantRole, "grant-role", "grant_role"),
    (oc.RevokeRole, "revoke-role", "revoke_role"),
    (oc.DeactivateOfficer, "deactivate", "deactivate"),
    (oc.SetPassword, "set-password", "set_password"),
):
    officer_group.add_command(command_for(_class, _name, _run(_method)))
