"""The `msafiri` command. With no subcommand it opens the terminal UI."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from domain.errors import InvalidCommand, MsafiriError
from projections.schema import SchemaBehind
from tui.bootstrap import DatabaseUnavailable
from tui.cli.audit import audit_group
from tui.cli.cases import case_group, incident_group
from tui.cli.context import CliContext
from tui.cli.demo import demo
from tui.cli.fund import fund_group, ledger_group
from tui.cli.nats import nats_group
from tui.cli.officers import officer_group
from tui.cli.projections import db_group, projections_group
from tui.settings import ConfigurationError, Settings


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
cli.add_command(nats_group)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every refusal is one line on stderr, never a traceback."""
    try:
        cli.main(args=argv, prog_name="msafiri", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except InvalidCommand as error:
        for field, rule in error.errors:
            click.echo(f"error: {field}: {rule}", err=True)
        sys.exit(2)
    except (MsafiriError, ConfigurationError, DatabaseUnavailable, SchemaBehind) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
