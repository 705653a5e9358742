"""The `msafiri` command. With no subcommand it opens the terminal UI."""

from __future__ import annotations

import json
import sys

import click
from pydantic import ValidationError

from domain.errors import InvalidCommand, MsafiriError
from msafiri.bootstrap import DatabaseUnavailable, database_problem
from msafiri.cli.access import access_group, case_report
from msafiri.cli.audit import audit_group
from msafiri.cli.backup import backup_group
from msafiri.cli.cases import case_group, incident_group
from msafiri.cli.claims import agreement_group, claim_group, coverage_group
from msafiri.cli.context import CliContext
from msafiri.cli.demo import demo
from msafiri.cli.employers import agency_group, contract_command, employer_group
from msafiri.cli.examples import add_examples
from msafiri.cli.fund import fund_group, ledger_group
from msafiri.cli.imports import import_group
from msafiri.cli.keys import keys_group
from msafiri.cli.nats import nats_group
from msafiri.cli.need_to_know import CASE_COMMANDS, INCIDENT_COMMANDS
from msafiri.cli.officers import officer_group
from msafiri.cli.projections import db_group, projections_group, system_status
from msafiri.cli.serve import serve
from msafiri.cli.statistics import statistics_group
from msafiri.settings import ConfigurationError, Settings
from projections.schema import SchemaBehind, SchemaUnavailable

# The command's context, for error messages that name the database in use.
_context: list[CliContext] = []


@click.group(invoke_without_command=True)
@click.option("--officer", help="Act as this officer (username).")
@click.option("--role", help="Act in this role, e.g. labour_attache.")
@click.pass_context
def cli(click_ctx: click.Context, officer: str | None, role: str | None) -> None:
    """Msafiri: the lifecycle of labour migrants and the Migrant Welfare Fund."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigurationError(_settings_problem(error)) from None
    ctx = CliContext(settings, officer, role)
    _context[:] = [ctx]
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)
    if click_ctx.invoked_subcommand is None:
        from tui.app.run import run_tui  # Textual only when the TUI is wanted

        run_tui(ctx)


def _settings_problem(error: ValidationError) -> str:
    item = error.errors()[0]
    name = "MSAFIRI_" + str(item["loc"][0]).upper()
    return f"{name}: {item['msg']}"


cli.add_command(officer_group)
cli.add_command(case_group)
cli.add_command(incident_group)
cli.add_command(demo)
cli.add_command(fund_group)
cli.add_command(ledger_group)
cli.add_command(audit_group)
cli.add_command(db_group)
cli.add_command(projections_group)
cli.add_command(system_status)
cli.add_command(nats_group)
cli.add_command(keys_group)
cli.add_command(import_group)
cli.add_command(serve)
cli.add_command(statistics_group)
cli.add_command(employer_group)
cli.add_command(agency_group)
case_group.add_command(contract_command())  # offers registered employers (issue 16)
# Need to know (docs/privacy.md): grants, break-glass, reads as the viewer may see them.
for _command in CASE_COMMANDS:
    case_group.add_command(_command)
for _command in INCIDENT_COMMANDS:
    incident_group.add_command(_command)
cli.add_command(access_group)  # issue 14: the access log
case_group.add_command(case_report)
cli.add_command(backup_group)
# Issue 16: money claims, coverage, agreements.
cli.add_command(claim_group)
cli.add_command(coverage_group)
cli.add_command(agreement_group)
add_examples(cli)


# Exit codes (docs/cli.md): 0 done; 1 refused by a rule or the environment
# (not authorised, not found, database unreachable, ...); 2 bad input or
# usage (a field broke its rule; nothing was stored); 130 interrupted.
EXIT_REFUSED, EXIT_BAD_INPUT, EXIT_ABORTED = 1, 2, 130


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every refusal is one line on stderr, never a traceback.
    With --json anywhere on the line, the refusal is one JSON object instead:
    {"error": ..., "field": ..., "errors": [{"field": ..., "rule": ...}]}."""
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    try:
        cli.main(args=args, prog_name="msafiri", standalone_mode=False)
    except click.exceptions.Abort:
        _refuse(as_json, "aborted", EXIT_ABORTED)
    except click.ClickException as error:
        if not as_json:
            error.show()
            sys.exit(error.exit_code)
        field = getattr(error, "param_hint", None) or getattr(
            getattr(error, "param", None), "name", None
        )
        _refuse(True, error.format_message(), error.exit_code, [(field, error.format_message())])
    except InvalidCommand as error:
        if not as_json:
            for field, rule in error.errors:
                click.echo(f"error: {field}: {rule}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        _refuse(True, str(error), EXIT_BAD_INPUT, error.errors)
    except (
        MsafiriError,
        ConfigurationError,
        DatabaseUnavailable,
        SchemaBehind,
        SchemaUnavailable,
    ) as error:
        _refuse(as_json, str(error), EXIT_REFUSED)
    except Exception as error:  # never a traceback, whatever broke
        _refuse(as_json, _one_line(error), EXIT_REFUSED)


def _refuse(
    as_json: bool, message: str, code: int, errors: list[tuple[str | None, str]] = ()
) -> None:
    if as_json:
        payload = {
            "error": message,
            "field": errors[0][0] if errors else None,
            "errors": [{"field": field, "rule": rule} for field, rule in errors],
        }
        click.echo(json.dumps(payload), err=True)
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _one_line(error: BaseException) -> str:
    """The database's errors (disk full, read-only, connection lost ...) with
    cause and fix; anything else as its type and message."""
    database = _context[0].database if _context else None
    if database is None and _context:
        from msafiri.settings import parse_database_url

        try:
            database = parse_database_url(_context[0].settings.database_url)
        except ConfigurationError:
            database = None
    text = database_problem(database, error) or (
        f"unexpected {type(error).__name__}: {error} (please report this)"
    )
    return " ".join(text.split())


if __name__ == "__main__":
    main()
