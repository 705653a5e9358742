"""`msafiri backup create|verify`: backups, and proof that they restore."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from domain.errors import MsafiriError
from msafiri import backup
from msafiri.cli.context import CliContext, emit


class BackupRefused(MsafiriError):
    """One line on stderr, exit 1 (msafiri/cli/main.py)."""


@click.group(name="backup", help="Back up the database; prove a backup restores.")
def backup_group() -> None:
    pass


@backup_group.command(
    name="create",
    help="Copy the database to FILE (SQLite: the online backup API; PostgreSQL: "
    "pg_dump custom format). The key file is NOT included: back it up separately.",
    short_help="Back up the database to FILE (not the key file).",
    epilog="\b\nExample:\n  msafiri backup create /backups/msafiri-2026-12-01.db",
)
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--reason", help="Why (kept in the access log)")
@click.pass_obj
def create_command(ctx: CliContext, output: Path, reason: str | None) -> None:
    try:
        click.echo(backup.create(ctx.settings, output))
    except backup.BackupProblem as error:
        raise BackupRefused(str(error)) from None
    _log_backup(ctx, output, reason)


def _log_backup(ctx: CliContext, output: Path, reason: str | None) -> None:
    """A backup is an export of everything: logged. By the officer named
    (--officer/--role), else by the operating-system account that ran it
    (a scheduled backup has no officer), with no role."""
    what = f"backup of the database to {output}"
    if ctx.officer or ctx.role:
        ctx.log_export(what, reason, subject_kind="database")
        return
    from domain.officers.access import EXPORT

    ctx.system.access_log.recorder.record(
        f"os:{getpass.getuser()}",
        None,
        EXPORT,
        subject_kind="database",
        detail=what,
        reason=(reason or "").strip() or None,
        connection=ctx.connection,
    )


@backup_group.command(
    name="verify",
    help="Restore FILE into a temporary place (a copy, or a scratch PostgreSQL database "
    "dropped afterwards) and run `audit verify` on it with the key file K. Prints one line; "
    "exit 0 when it passes, 3 when it does not.",
    short_help="Restore a backup in a scratch place and audit-verify it.",
    epilog="\b\nExample:\n  msafiri backup verify /backups/msafiri-2026-12-01.db "
    "--key-file /safe/master.key",
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--key-file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The master key file kept with the key backups",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify_command(ctx: CliContext, file: Path, key_file: Path, as_json: bool) -> None:
    try:
        verdict = backup.verify(ctx.settings, file, key_file)
    except backup.BackupProblem as error:
        raise BackupRefused(str(error)) from None
    data = {
        "ok": verdict.ok,
        "kind": verdict.kind,
        "checked": verdict.checked,
        "problems": verdict.problems,
    }
    emit(as_json, data, verdict.line)
    if not verdict.ok:
        sys.exit(3)
