"""Entry point the CLI calls when `msafiri` has no subcommand."""

from __future__ import annotations

from typing import Any

from msafiri.settings import ConfigurationError


def run_tui(ctx: Any) -> None:
    """Open the terminal UI on the system the CLI context builds (settings,
    database) and return when the officer quits. Problems found before the
    first screen (database schema behind) are one line, raised as the CLI's
    ConfigurationError."""
    from projections.schema import SchemaBehind
    from tui.app.app import MsafiriApp

    try:
        app = MsafiriApp(system=ctx.system)
    except SchemaBehind as error:
        raise ConfigurationError(str(error)) from None
    app.run()
