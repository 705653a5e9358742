"""Catch-up speed of a full rebuild beside a raw SELECT of the same events.

    uv run python -m bench.bench_projections --database-url sqlite:////tmp/bench.db --migrants 20000
    uv run python -m bench.bench_projections \
        --database-url postgresql://postgres@127.0.0.1:5432/msafiri_bench --migrants 20000

Fills an empty database with the demo population first (`msafiri demo`
data), then, in the same run: reads every event in keyset pages of the
projection batch size with a raw SELECT (no decoding), and rebuilds every
read model from scratch (emptying them, building their query-only indexes
at the end: all of `msafiri projections rebuild`). Reports events/s of both and their ratio (target:
rebuild >= 0.5x raw), and of reading + decoding alone (the floor of any
Python projection). The library's ProjectionRunner is ~0.02x (FIELD-NOTES).
"""

from __future__ import annotations

import argparse
import json
import time

from msafiri.bootstrap import build_system
from msafiri.settings import Settings, parse_database_url
from projections.db import ReadModelDb
from projections.log import read_page
from projections.readmodels import ReadModels
from projections.schema import upgrade


def raw_select(db: ReadModelDb, batch: int) -> tuple[int, float]:
    started, position, count = time.perf_counter(), 0, 0
    while True:
        rows = db.fetchall(
            f"SELECT {db.notification_id}, topic, state FROM {db.events_table} "
            f"WHERE {db.notification_id} > ? ORDER BY {db.notification_id} LIMIT ?",
            (position, batch),
        )
        if not rows:
            return count, time.perf_counter() - started
        count += len(rows)
        position = rows[-1][0]


def select_and_decode(db: ReadModelDb, models: ReadModels, batch: int) -> tuple[int, float]:
    """The floor of any Python projection: the same pages, every event the
    projections read decoded to its dict (no view written)."""
    needed = frozenset().union(*(p.types for p in models.projections))
    started, position, count = time.perf_counter(), 0, 0
    while True:
        rows = read_page(db, position, batch)
        if not rows:
            return count, time.perf_counter() - started
        models.decoder.decode_page(rows, needed)
        count += len(rows)
        position = rows[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--migrants", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    settings = Settings(database_url=args.database_url, projection_batch_size=args.batch)
    # PostgreSQL refuses to build the system while the read-model schema is behind.
    upgrade(parse_database_url(args.database_url))
    system = build_system(settings)
    if (system.store.recorder.max_notification_id() or 0) < args.migrants:
        from msafiri.demo.officers import ensure_demo_officers
        from msafiri.demo.population import populate

        populate(system.store, ensure_demo_officers(system), args.migrants, seed=2026)
    db = ReadModelDb(system.database)
    models = ReadModels(settings, system.database, system.store)
    driver = None
    if system.database.backend == "postgresql":
        import psycopg

        driver = f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__})"
    results = []
    for _ in range(args.repeat):
        raw_events, raw_seconds = raw_select(db, args.batch)
        decoded, decode_seconds = select_and_decode(db, models, args.batch)
        started, cpu_started = time.perf_counter(), time.process_time()
        rebuilt = models.rebuild()
        rebuild_seconds = time.perf_counter() - started
        # Our process's CPU (all threads) against the wall: the rest is the
        # database server (PostgreSQL) or waiting (I/O, other processes).
        rebuild_cpu = time.process_time() - cpu_started
        raw_rate, rebuild_rate = raw_events / raw_seconds, rebuilt / rebuild_seconds
        results.append(
            {
                "backend": system.database.backend,
                "driver": driver,
                "events": raw_events,
                "batch": args.batch,
                "raw_select_events_per_second": round(raw_rate),
                "select_and_decode_events_per_second": round(decoded / decode_seconds),
                "rebuild_events_per_second": round(rebuild_rate),
                "rebuild_seconds": round(rebuild_seconds, 3),
                "rebuild_process_cpu_seconds": round(rebuild_cpu, 3),
                "ratio": round(rebuild_rate / raw_rate, 3),
                "projections": list(models.names),
            }
        )
        print(json.dumps(results[-1]))
    models.close()
    db.close()
    system.close()


if __name__ == "__main__":
    main()
