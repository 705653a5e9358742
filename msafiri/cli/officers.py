"""`msafiri officer ...`: the first administrator, officers and their roles."""

from __future__ import annotations

from pathlib import Path

import click

from domain.officers import commands as oc
from domain.values import Role
from msafiri.cli.cases import command_for
from msafiri.cli.context import CliContext, emit


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
    ctx.may_create = True  # the first run: the database may be new
    officer_id = ctx.system.officers.create_first_administrator(command)
    ctx.after_write()
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
    officer_group.add_command(
        command_for(_class, _name, _run(_method), "officer", (Role.ADMINISTRATOR,))
    )


@officer_group.command(
    name="change-password",
    help="Change your own password (the acting --officer's). Needed after an "
    "administrator's reset before any other command.",
    epilog="\b\nExample:\n  msafiri --officer j.otieno officer change-password",
)
@click.option(
    "--new-password-file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Read the new password from this file (else it is prompted for, twice).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def change_password(ctx: CliContext, new_password_file, as_json) -> None:
    if not ctx.officer:
        raise click.UsageError("give --officer USERNAME (or MSAFIRI_OFFICER)")
    current = ctx.settings.officer_password or click.prompt(
        f"Current password for {ctx.officer}", hide_input=True, err=True
    )
    if new_password_file:
        new = new_password_file.read_text().strip()
    else:
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    command = oc.ChangePassword.parse({"current_password": current, "new_password": new})
    officer = ctx.system.officers.change_password(
        ctx.officer, command, interface="cli", connection=ctx.connection
    )
    ctx.after_write()
    emit(as_json, {"officer_id": str(officer.id)}, f"password of {officer.username} changed")
