"""The `msafiri` command. With no subcommand it opens the terminal UI."""

from __future__ import annotations

import json
import sys

import click
from pydantic import ValidationError

from domain.errors import InvalidCommand, MsafiriError
from msafiri.bootstrap import DatabaseUnavailable, database_problem
from msafiri.cli.context import CliContext
from msafiri.cli.examples import add_examples
from msafiri.cli.lazy import LazyGroup
from msafiri.settings import ConfigurationError, Settings
from projections.schema import SchemaBehind, SchemaUnavailable

# The command's context, for error messages that name the database in use.
_context: list[CliContext] = []


# Each subcommand is imported when it is used (msafiri/cli/lazy.py): a command
# should not pay at start-up for every other command's dependencies.
SUBCOMMANDS = {
    "access": "msafiri.cli.access:access_group",  # issue 14: the access log
    "agency": "msafiri.cli.employers:agency_group",
    "agreement": "msafiri.cli.claims:agreement_group",  # issue 16: claims, coverage
    "audit": "msafiri.cli.audit:audit_group",
    "backup": "msafiri.cli.backup:backup_group",
    "case": "msafiri.cli.case_tree:case_group",
    "claim": "msafiri.cli.claims:claim_group",
    "coverage": "msafiri.cli.claims:coverage_group",
    "db": "msafiri.cli.projections:db_group",
    "demo": "msafiri.cli.demo:demo",
    "employer": "msafiri.cli.employers:employer_group",
    "fund": "msafiri.cli.fund:fund_group",
    "import": "msafiri.cli.imports:import_group",
    "incident": "msafiri.cli.case_tree:incident_group",
    "keys": "msafiri.cli.keys:keys_group",
    "ledger": "msafiri.cli.fund:ledger_group",
    "nats": "msafiri.cli.nats:nats_group",
    "officer": "msafiri.cli.officers:officer_group",
    "projections": "msafiri.cli.projections:projections_group",
    "serve": "msafiri.cli.serve:serve",
    "statistics": "msafiri.cli.statistics:statistics_group",
    "status": "msafiri.cli.projections:system_status",
}


@click.group(
    cls=LazyGroup,
    lazy=SUBCOMMANDS,
    prepare=lambda command, name: add_examples(command, (name,)),
    invoke_without_command=True,
)
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
