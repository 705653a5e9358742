"""`msafiri demo`: fill a database with a realistic synthetic population."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from msafiri.cli.context import CliContext, emit, warn_catch_up_failed
from msafiri.demo.officers import (
    DEMO_ACCOUNT_EVENTS,
    DEMO_PASSWORD,
    NotADemoDatabase,
    ensure_demo_officers,
)
from msafiri.demo.population import CACHED_KEYS, history_start, populate_with_fund

log = logging.getLogger(__name__)


@click.command(
    name="demo",
    help="Fill the database with synthetic migrants, incidents, claims, coverage and a fund.",
)
@click.option("--migrants", type=click.IntRange(1, 1_000_000), default=5000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same data.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last day of the demo's history, YYYY-MM-DD (default: yesterday, UTC). "
    "The same seed and the same day give the same data.",
)
@click.option("--add", is_flag=True, help="Add more to a database that already has demo data.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def demo(
    ctx: CliContext, migrants: int, seed: int, today: datetime | None, add: bool, as_json: bool
) -> None:
    ctx.may_create = True  # the README's first command: it makes the database
    real_today = datetime.now(tz=UTC).date()
    # Yesterday: the whole last office day is history, nothing is recorded
    # later than now, and the fund's queue holds requests due in the days ahead.
    last_day = today.date() if today else real_today - timedelta(days=1)
    if last_day >= real_today:
        raise click.BadParameter(
            f"must be a day before today ({real_today}, UTC): the demo records only the past",
            param_hint="--today",
        )
    system = ctx.system
    try:
        actors = ensure_demo_officers(system, at=history_start(last_day))
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
    with Progress(*columns, disable=as_json, transient=False) as progress, following(system):
        task = progress.add_task("migrants", total=migrants)
        fund = progress.add_task("fund", total=None)
        populate_with_fund(
            system,
            actors,
            migrants,
            seed,
            progress=lambda n: progress.advance(task, n),
            today=last_day,
            fund_progress=lambda n: progress.advance(fund, n),
        )
    events = (system.store.recorder.max_notification_id() or 0) - before
    seconds = time.perf_counter() - started
    # The read models and the audit chain catch up now, so the UI opens on
    # current screens (a few seconds per 100k events).
    with Progress(*columns, disable=as_json, transient=True) as progress, few_keys(system):
        task = progress.add_task("read models", total=None)
        catch_up(ctx, lambda done, head: progress.update(task, completed=done, total=head))
        system.read_models.analyze(events=True)  # fresh planner statistics
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
        f"demo.reintegration, demo.fund, demo.fund2, demo.auditor, demo.supervisor, "
        f"demo.dpo, demo.dpo2, demo.admin "
        f"(password {DEMO_PASSWORD}).",
    )


def few_keys(system) -> contextlib.AbstractContextManager:
    """Catching up reads the log in time order: each migrant's data keys are
    wanted for a while, then rarely, so a bounded few are cached (the whole
    MAX_CACHED_KEYS was ~270 MB more at the peak; msafiri/demo/population.py)."""
    keys = getattr(system.store.mapper, "data_keys", None)
    if hasattr(keys, "cached_at_most"):
        return keys.cached_at_most(CACHED_KEYS)
    return contextlib.nullcontext()


def catch_up(ctx: CliContext, progress) -> None:
    """What `ctx.after_write()` does, with the read models caught up in bulk
    first: on a database the demo just filled they have applied nothing yet,
    and build their query-only indexes once at the end instead of one entry
    per row (Runner.defer_fresh_indexes). The data is stored: a failure here
    is a warning, and the next command or a worker catches up."""
    system = ctx.system
    try:
        system.fund_process.run_once()  # may write: before the read models
        system.read_models.catch_up(progress, bulk=True)
    except Exception as error:  # any failure after the commit is a warning
        warn_catch_up_failed(error, ctx.database)
        return
    ctx.after_write()  # the audit chain, and whatever came meanwhile


FOLLOW_POLL_SECONDS = 1.0


@contextlib.contextmanager
def following(system) -> Iterator[None]:
    """On PostgreSQL, the read models and the audit chain follow the log in a
    process of their own while the demo writes it (their own connections;
    each follower is exactly-once, as beside any writer), so the catch-up
    after the demo is only its tail: at 20k migrants the catch-up was ~45% of
    the demo's time, most of it the server's, which overlaps with the demo's
    own round trips. A process, not a thread: decoding and the projections'
    Python would otherwise share one interpreter lock with the demo's own.
    Projections that applied nothing yet keep their query-only indexes
    deferred until the final catch-up (`run_once(until=...)` leaves them).
    Not the fund process: the demo runs it at its own simulated times. Not
    on SQLite: one file, one writer at a time. A failure there is left to the
    final catch-up, which does the same work again from where it stopped."""
    if system.database.backend != "postgresql":
        yield
        return
    context = multiprocessing.get_context("spawn")  # no inherited connections
    stop = context.Event()
    follower = context.Process(
        target=follow_the_log,
        args=(system.settings, stop, os.getpid()),
        name="demo-follower",
        daemon=True,
    )
    follower.start()
    try:
        yield
    finally:
        stop.set()
        follower.join()


def follow_the_log(settings, stop, parent: int) -> None:
    """The demo's follower, in its own process: pages of the log into the
    read models and the audit chain until `stop` (or its parent is gone)."""
    from msafiri.bootstrap import build_system

    try:
        system = build_system(settings, create=False)
    except Exception as error:  # said, not raised: the final catch-up does it all
        log.warning("the read models could not follow the demo (%s); caught up after", error)
        return
    try:
        runner = system.read_models.runner
        runner.defer_fresh_indexes()
        with few_keys(system):
            while not stop.is_set() and os.getppid() == parent:
                read = runner.run_once(until=runner.db.max_notification_id(), stop=stop)
                if not stop.is_set():
                    read += system.audit.extend_chain()
                if read < 1000:
                    stop.wait(FOLLOW_POLL_SECONDS)
    except Exception as error:  # said, not raised: the final catch-up redoes it
        log.warning("the read models stopped following the demo (%s); caught up after", error)
    finally:
        system.close()
