"""`msafiri db upgrade` and `msafiri projections status|run|rebuild`."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from msafiri.cli.context import CliContext, fail


def _read_models(ctx: CliContext):
    """The system's read models when the composition root builds them, else ours."""
    from projections.schema import SchemaBehind

    system = ctx.system
    existing = getattr(system, "read_models", None)
    if existing is not None:
        return existing, False
    from projections import open_read_models

    try:
        return open_read_models(ctx.settings, system.database, system.store), True
    except SchemaBehind as error:
        raise click.ClickException(str(error)) from None


@click.group(name="db", help="The database: schema of the read models.")
def db_group() -> None:
    pass


@db_group.command(name="upgrade", help="Apply pending read-model migrations (migrations/).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def db_upgrade(ctx: CliContext, as_json: bool) -> None:
    from msafiri.bootstrap import upgrade_schema

    database, applied = upgrade_schema(ctx.settings)
    if as_json:
        click.echo(json.dumps({"applied": applied}))
    elif applied:
        click.echo(f"applied {len(applied)} migration(s) to {database.url}: {', '.join(applied)}")
    else:
        click.echo(f"{database.url}: the read-model schema is up to date")


@click.group(name="projections", help="Read models: status, follow the log live, rebuild.")
def projections_group() -> None:
    pass


# `projections status` exits 3 when a projection is stopped: distinct from 1
# (the database could not be asked) and 2 (a usage error), for monitoring.
EXIT_STOPPED = 3


@projections_group.command(
    name="status",
    help="Position and lag of each projection; exits 3 when one is stopped at an event.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(ctx: CliContext, as_json: bool) -> None:
    read_models, own = _read_models(ctx)
    try:
        rows = read_models.status()
    finally:
        if own:
            read_models.close()
    followers = _other_followers(ctx)
    stopped = [r for r in rows if r.failed_id is not None]
    if as_json:
        data = [
            {**row.__dict__, "state": _state(row), "stopped": row.failed_id is not None}
            for row in rows
        ] + [{**f, "stopped": False} for f in followers]
        click.echo(json.dumps(data, sort_keys=True, default=str))
    else:
        width = max([len(r.name) for r in rows] + [len(f["name"]) for f in followers])
        click.echo(f"{'projection':<{width}}  {'position':>10}  {'lag':>10}  state")
        for r in rows:
            click.echo(f"{r.name:<{width}}  {r.position:>10,}  {r.lag:>10,}  {_state(r)}")
        for f in followers:
            click.echo(f"{f['name']:<{width}}  {f['position']:>10,}  {f['lag']:>10,}  {f['state']}")
    if stopped:
        names = ", ".join(r.name for r in stopped)
        click.echo(
            f"error: {len(stopped)} projection(s) stopped: {names}; fix the cause, then "
            "restart the worker (or `msafiri projections rebuild NAME`)",
            err=True,
        )
        sys.exit(EXIT_STOPPED)


@click.command(
    name="status",
    help="The database, where reads go (a read replica and its lag), and each "
    "projection's position and lag; exits 3 when one is stopped at an event.",
    epilog="\b\nExample:\n  msafiri status --json",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def system_status(ctx: CliContext, as_json: bool) -> None:
    from projections.replica import replica_facts

    system = ctx.system
    read_models = system.read_models
    facts = {"database": system.database.url, **replica_facts(read_models)}
    lag = read_models.replica_lag()
    rows = read_models.status()
    stopped = [r for r in rows if r.failed_id is not None]
    if as_json:
        data = {
            "database": system.database.url,
            "replica": system.read_database.url if system.read_database else None,
            "replica_lag": lag.__dict__ if lag else None,
            "projections": [{**row.__dict__, "state": _state(row)} for row in rows],
        }
        click.echo(json.dumps(data, sort_keys=True, default=str))
    else:
        width = max([len(k) for k in facts] + [len("projection " + r.name) for r in rows])
        for key, value in facts.items():
            click.echo(f"{key:<{width}}  {value}")
        for r in rows:
            click.echo(f"{'projection ' + r.name:<{width}}  {r.position:,} · {_state(r)}")
    if stopped:
        names = ", ".join(r.name for r in stopped)
        click.echo(f"error: {len(stopped)} projection(s) stopped: {names}", err=True)
        sys.exit(EXIT_STOPPED)


def _state(row) -> str:
    if row.failed_id is not None:
        return f"STOPPED at event {row.failed_id}: {row.error}"
    return "up to date" if row.lag == 0 else "behind"


def _other_followers(ctx: CliContext) -> list[dict]:
    """The log's other followers: the fund process, the audit chain and, when
    NATS is configured, the publisher (its lag read from the database only)."""
    system = ctx.system
    head = system.store.recorder.max_notification_id() or 0
    chain_head = system.audit.head()
    chained = chain_head.position if chain_head else 0
    fund_lag = system.fund_process.lag()
    followers = [
        {
            "name": "fund process",
            "position": system.fund_process.position(),
            "lag": fund_lag,
            "state": "up to date" if fund_lag == 0 else f"{fund_lag} events to react to",
        },
        {
            "name": "audit chain",
            "position": chained,
            "lag": head - chained,
            "state": "up to date" if head == chained else "behind",
        },
    ]
    if ctx.settings.nats_url:
        from integration.publisher import publisher_status

        published = publisher_status(system)
        followers.append(
            {
                "name": "nats publisher",
                "position": published.position,
                "lag": published.lag,
                "state": "up to date" if published.lag == 0 else "behind",
            }
        )
    else:
        followers.append(
            {"name": "nats publisher", "position": 0, "lag": 0, "state": "not configured"}
        )
    return followers


def worker_logging() -> None:
    """A long-running worker's output: our lines, one each, as they are
    (systemd's journal adds the time). The PostgreSQL pool's own warnings
    (one per failed reconnect attempt) are left out: the worker says once
    that the database is gone and once that it is back."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("psycopg").setLevel(logging.CRITICAL)


@contextmanager
def stop_on_signals(stop: Callable[[], object]) -> Iterator[None]:
    """SIGTERM (systemd, docker) and SIGINT (Ctrl-C) ask the worker to stop:
    it finishes the page in hand and exits 0."""
    previous = {
        signum: signal.signal(signum, lambda *_: stop())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@projections_group.command(
    name="run",
    help="Follow the log and keep every read model current (SIGTERM/Ctrl-C: stop, exit 0).",
)
@click.pass_obj
def run(ctx: CliContext) -> None:
    from projections.outage import describe

    worker_logging()
    read_models, own = _read_models(ctx)
    stop = threading.Event()
    click.echo(
        f"following the event log of {ctx.system.database.url} (Ctrl-C or SIGTERM to stop)",
        err=True,
    )
    try:
        with stop_on_signals(stop.set):
            read_models.run_forever(stop)
    except Exception as error:
        # Not an outage (those are waited out) and not one projection's
        # event (that projection stops alone): say what, exit 1, and let
        # the service manager restart the worker.
        if own:
            read_models.close()
        fail(f"the projection worker stopped: {type(error).__name__}: {describe(error)}", 1)
    try:
        failed = [t for t in read_models.runner.tracking().values() if t.failed_id is not None]
    except Exception:
        failed = []  # stopped during an outage: `projections status` tells later
    finally:
        if own:
            read_models.close()
    for t in failed:
        click.echo(
            f"error: projection {t.projection} stopped at event {t.failed_id}: {t.error}",
            err=True,
        )
    click.echo("stopped", err=True)


@projections_group.command(name="rebuild", help="Empty read models and rebuild them from the log.")
@click.argument("name", required=False)
@click.option(
    "--shadow",
    is_flag=True,
    help="Build into shadow tables while the live ones keep serving; swap at the end.",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="With --shadow on PostgreSQL: split the build across this many processes "
    "(about one a core; docs/operations.md).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def rebuild(ctx: CliContext, name: str | None, shadow: bool, processes: int, as_json: bool) -> None:
    from projections.readmodels import UnknownProjection
    from projections.shadow import ShadowRebuildFailed

    if processes > 1 and not shadow:
        raise click.UsageError("--processes: only with --shadow (a plain rebuild is one process)")
    read_models, own = _read_models(ctx)
    if processes > 1 and read_models.database.backend != "postgresql":
        if own:
            read_models.close()
        raise click.UsageError("--processes: PostgreSQL only (SQLite has one writer at a time)")
    if processes > 1 and read_models.shadow_parts is None:
        from msafiri.bootstrap import ShadowParts

        read_models.shadow_parts = ShadowParts(ctx.settings)
    try:
        read_models.named(name)  # before the progress bar is drawn
    except UnknownProjection as error:
        if own:
            read_models.close()
        raise click.ClickException(str(error)) from None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeRemainingColumn(),
    )
    started = time.perf_counter()
    try:
        with Progress(*columns, disable=as_json, transient=False) as progress:
            task = progress.add_task(f"rebuilding {name or 'all'}", total=None, rate="-")

            def advance(position: int, head: int) -> None:
                elapsed = max(time.perf_counter() - started, 1e-6)
                progress.update(
                    task, completed=position, total=head, rate=f"{position / elapsed:,.0f}"
                )

            if shadow:
                events = read_models.rebuild_shadow(name, advance, processes=processes)
            else:
                events = read_models.rebuild(name, advance)
    except ShadowRebuildFailed as error:
        raise click.ClickException(str(error)) from None
    finally:
        if own:
            read_models.close()
    seconds = time.perf_counter() - started
    result = {
        "projection": name or "all",
        "shadow": shadow,
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds) if seconds else None,
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"rebuilt {result['projection']}{' (shadow, swapped in)' if shadow else ''}: "
            f"{events:,} events in {seconds:.1f} s "
            f"({events / max(seconds, 1e-6):,.0f} events/s)"
        )
