"""`msafiri serve`: the officers' terminal UI for browsers (docs/operations.md)."""

from __future__ import annotations

import click

from msafiri.cli.context import CliContext
from msafiri.settings import ConfigurationError


@click.command(
    "serve",
    epilog="\b\nExample:\n  msafiri serve --port 8000 --public-url https://msafiri.example.org",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--public-url",
    help="The https:// address browsers use, served by a TLS proxy in front of this "
    "server; required to listen on anything but loopback.",
)
@click.pass_obj
def serve(ctx: CliContext, host: str, port: int, public_url: str | None) -> None:
    """Serve the terminal UI to browsers: one app process per tab, each
    signing in on its own, at most MSAFIRI_SERVE_MAX_SESSIONS at once."""
    from msafiri.serve.server import MsafiriServer, is_loopback

    if public_url is not None:
        public_url = public_url.rstrip("/")
        if not public_url.startswith("https://"):
            raise ConfigurationError(f"--public-url must start with https:// (got {public_url})")
    elif not is_loopback(host):
        # Passwords would cross the network in clear text.
        raise ConfigurationError(
            f"refusing to serve on {host} without --public-url: put a TLS proxy in front "
            "(docs/operations.md) or listen on 127.0.0.1"
        )
    # A database that is missing or behind is one line now, not a blank tab later.
    ctx.system  # noqa: B018
    ctx.close()
    settings = ctx.settings
    MsafiriServer(
        host=host,
        port=port,
        public_url=public_url,
        max_sessions=settings.serve_max_sessions,
        attempts_per_minute=settings.serve_attempts_per_minute,
    ).serve()
