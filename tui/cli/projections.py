"""`msafiri db upgrade` and `msafiri projections status|run|rebuild`."""

from __future__ import annotations

import json
import threading
import time

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tui.cli.context import CliContext
from tui.settings import parse_database_url


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
    from projections.schema import upgrade

    database = parse_database_url(ctx.settings.database_url)
    applied = upgrade(database)
    if as_json:
        click.echo(json.dumps({"applied": applied}))
    elif applied:
        click.echo(f"applied {len(applied)} migration(s) to {database.url}: {', '.join(applied)}")
    else:
        click.echo(f"{database.url}: the read-model schema is up to date")


@click.group(name="projections", help="Read models: status, follow the log live, rebuild.")
def projections_group() -> None:
    pass


@projections_group.command(name="status", help="Position and lag of each projection.")
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
    if as_json:
        data = [row.__dict__ for row in rows] + followers
        click.echo(json.dumps(data, sort_keys=True, default=str))
        return
    width = max([len(r.name) for r in rows] + [len(f["name"]) for f in followers])
    click.echo(f"{'projection':<{width}}  {'position':>10}  {'lag':>10}  state")
    for r in rows:
        state = "up to date" if r.lag == 0 else "behind"
        if r.failed_id is not None:
            state = f"STOPPED at event {r.failed_id}: {r.error}"
        click.echo(f"{r.name:<{width}}  {r.position:>10,}  {r.lag:>10,}  {state}")
    for f in followers:
        click.echo(f"{f['name']:<{width}}  {f['position']:>10,}  {f['lag']:>10,}  {f['state']}")


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


@projections_group.command(name="run", help="Follow the log and keep every read model current.")
@click.pass_obj
def run(ctx: CliContext) -> None:
    read_models, own = _read_models(ctx)
    stop = threading.Event()
    click.echo(f"following the event log of {ctx.system.database.url} (Ctrl-C to stop)", err=True)
    try:
        read_models.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
        click.echo("stopped", err=True)
    finally:
        failed = [s for s in read_models.status() if s.failed_id is not None]
        if own:
            read_models.close()
    for s in failed:
        click.echo(
            f"error: projection {s.name} stopped at event {s.failed_id}: {s.error}", err=True
        )


@projections_group.command(name="rebuild", help="Empty read models and rebuild them from the log.")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def rebuild(ctx: CliContext, name: str | None, as_json: bool) -> None:
    from projections.readmodels import UnknownProjection

    read_models, own = _read_models(ctx)
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

            events = read_models.rebuild(name, advance)
    finally:
        if own:
            read_models.close()
    seconds = time.perf_counter() - started
    result = {
        "projection": name or "all",
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds) if seconds else None,
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"rebuilt {result['projection']}: {events:,} events in {seconds:.1f} s "
            f"({events / max(seconds, 1e-6):,.0f} events/s)"
        )
