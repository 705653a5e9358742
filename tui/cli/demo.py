"""`msafiri demo`: fill a database with a realistic synthetic population."""

from __future__ import annotations

import random
import time

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tui.cli.context import CliContext, emit
from tui.demo.officers import (
    DEMO_ACCOUNT_EVENTS,
    DEMO_PASSWORD,
    NotADemoDatabase,
    ensure_demo_officers,
)
from tui.demo.population import populate


@click.command(name="demo", help="Fill the database with synthetic migrants, incidents and a fund.")
@click.option("--migrants", type=click.IntRange(1, 1_000_000), default=5000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same data.")
@click.option("--add", is_flag=True, help="Add more to a database that already has demo data.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def demo(ctx: CliContext, migrants: int, seed: int, add: bool, as_json: bool) -> None:
    system = ctx.system
    try:
        actors = ensure_demo_officers(system)
    except NotADemoDatabase as error:
        raise click.ClickException(str(error)) from None
    before = system.store.recorder.max_notification_id() or 0
    if before > DEMO_ACCOUNT_EVENTS and not add:
        emit(
            as_json,
            {"migrants": 0, "events": 0, "already_populated": True},
            f"{system.database.url} already holds demo data (use --add for more).",
        )
        return
    started = time.perf_counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=as_json, transient=False) as progress:
        task = progress.add_task("migrants", total=migrants)
        rng = populate(system.store, actors, migrants, seed, lambda n: progress.advance(task, n))
        _populate_fund(system, rng, actors, progress)
    events = (system.store.recorder.max_notification_id() or 0) - before
    seconds = time.perf_counter() - started
    # The read models and the audit chain catch up now, so the UI opens on
    # current screens (a few seconds per 100k events).
    with Progress(*columns, disable=as_json, transient=True) as progress:
        task = progress.add_task("read models", total=None)
        system.keep_current()
        progress.update(task, completed=1, total=1)
    result = {
        "migrants": migrants,
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "demo_password": DEMO_PASSWORD,
    }
    emit(
        as_json,
        result,
        f"{migrants:,} migrants, {events:,} events in {seconds:.1f} s "
        f"({events / seconds:,.0f} events/s). Demo officers: demo.registrar, demo.attache, "
        f"demo.reintegration, demo.fund, demo.fund2, demo.auditor, demo.admin "
        f"(password {DEMO_PASSWORD}).",
    )


def _populate_fund(system, rng: random.Random, actors, progress: Progress) -> None:
    """The fund side of the demo lives with the ledger (ledger/demo.py)."""
    try:
        from ledger.demo import populate_fund
    except ImportError:
        return
    task = progress.add_task("fund", total=None)
    populate_fund(system, rng, actors, progress=lambda n: progress.advance(task, n))
