"""`msafiri nats ...`: set up the JetStream stream, run the publisher, show its lag.

NATS is imported only inside these commands: without MSAFIRI_NATS_URL the
rest of Msafiri never loads it, let alone connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import asdict

import click

from msafiri.cli.context import CliContext, emit, fail


def _not_configured(ctx: CliContext) -> None:
    if not ctx.settings.nats_url:
        fail("NATS is not configured: set MSAFIRI_NATS_URL (e.g. nats://127.0.0.1:4222)", 1)


@click.group(name="nats", help="Publish the event log to NATS JetStream.")
def nats_group() -> None:
    pass


@nats_group.command(name="setup", help="Create or update the stream from the settings.")
@click.option(
    "--max-age-days",
    type=click.FloatRange(0),
    help="0 = keep forever (default: MSAFIRI_NATS_MAX_AGE_DAYS).",
)
@click.option(
    "--max-bytes", type=click.IntRange(0), help="0 = unlimited (default: MSAFIRI_NATS_MAX_BYTES)."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def setup(
    ctx: CliContext, max_age_days: float | None, max_bytes: int | None, as_json: bool
) -> None:
    _not_configured(ctx)
    from integration.connection import NatsUnavailable, connect
    from integration.stream import Retention, ensure_stream

    settings = ctx.settings

    async def run() -> str:
        client = await connect(settings, keep_reconnecting=False)
        try:
            retention = Retention(
                settings.nats_max_age_days if max_age_days is None else max_age_days,
                settings.nats_max_bytes if max_bytes is None else max_bytes,
            )
            return await ensure_stream(client.jetstream(timeout=10), settings, retention)
        finally:
            await client.close()

    try:
        outcome = asyncio.run(run())
    except NatsUnavailable as error:
        fail(str(error), 1)
    except Exception as error:  # the server refused (e.g. overlapping subjects)
        fail(f"NATS refused stream {settings.nats_stream}: {error}", 1)
    data = {
        "stream": settings.nats_stream,
        "subjects": f"{settings.nats_subject_prefix}.>",
        "replicas": settings.nats_replicas,
        "duplicate_window_seconds": settings.nats_duplicate_window_seconds,
        "outcome": outcome,
    }
    emit(
        as_json,
        data,
        f"stream {data['stream']} ({data['subjects']}, R{data['replicas']}, duplicate window "
        f"{data['duplicate_window_seconds']} s): {outcome}",
    )


@nats_group.command(name="publish", help="Publish the events not yet in the stream.")
@click.option(
    "--follow",
    is_flag=True,
    help="Keep publishing new events, riding out NATS and database outages, until "
    "SIGTERM or Ctrl-C (then exit 0).",
)
@click.option("--page-size", type=click.IntRange(1, 20_000), default=1000, show_default=True)
@click.option("--replay", is_flag=True, help="Start again from the log's first event.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def publish(ctx: CliContext, follow: bool, page_size: int, replay: bool, as_json: bool) -> None:
    _not_configured(ctx)
    from integration.connection import NatsUnavailable
    from integration.publisher import Publisher, StreamMissing
    from msafiri.cli.projections import worker_logging
    from projections.outage import describe, is_transient

    worker_logging()
    publisher = Publisher(ctx.system, page_size=page_size)
    if replay:
        # Events already in the stream are found there and not sent again.
        publisher.positions.save(0)
        publisher.position = 0

    async def run():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        return await publisher.run(follow=follow, stop=stop)

    try:
        progress = asyncio.run(run())
    except (NatsUnavailable, StreamMissing) as error:
        fail(str(error), 1)
    except Exception as error:
        # A follower waits database outages out; a one-shot run stops.
        if not is_transient(error):
            raise
        fail(f"database unavailable: {describe(error)}; run it again when it is back", 1)
    finally:
        publisher.close()
    emit(
        as_json,
        asdict(progress),
        f"published {progress.published:,} events; position {progress.position:,}"
        + (f" ({progress.resent:,} re-sent)" if progress.resent else "")
        + (
            f"; {progress.withheld:,} withheld (partner sharing withdrawn)"
            if progress.withheld
            else ""
        ),
    )


@nats_group.command(name="status", help="The publisher's position and lag, and the stream.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(ctx: CliContext, as_json: bool) -> None:
    _not_configured(ctx)
    from integration.connection import NatsUnavailable
    from integration.publisher import publisher_status
    from integration.stream import stream_summary

    settings = ctx.settings
    state = publisher_status(ctx.system)
    data = {
        "position": state.position,
        "head": state.head,
        "lag": state.lag,
        "updated_at": state.updated_at,
    }
    try:
        data["stream"] = asyncio.run(stream_summary(settings))
    except NatsUnavailable as error:
        emit(as_json, data, f"position {state.position:,} of {state.head:,} (lag {state.lag:,})")
        fail(str(error), 1)
    stream = data["stream"]
    stream_text = (
        f"stream {settings.nats_stream}: missing (run `msafiri nats setup`)"
        if stream is None
        else f"stream {settings.nats_stream}: {stream['messages']:,} messages, "
        f"R{stream['replicas']}, leader {stream['leader'] or '-'}"
    )
    saved = ctx.when(state.updated_at, "second") if state.updated_at else "never"
    ctx.emit_times(
        as_json,
        data,
        f"publisher position {state.position:,} of {state.head:,} (lag {state.lag:,}), "
        f"last saved {saved}\n{stream_text}",
    )
