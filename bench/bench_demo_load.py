"""Demo-load throughput beside a raw baseline writing the same rows.

    uv run python -m bench.bench_demo_load --migrants 20000 [--backend postgresql|sqlite|both]

1. `populate()` writes N synthetic migrants (the body of `msafiri demo`) into a
   fresh database and is timed end to end: building the stories through the
   aggregates, mapping, and writing one transaction per chunk.
2. The very rows it stored are read back and written again into an identical
   empty table by raw psycopg `executemany` (or sqlite3 `executemany`), one
   transaction per chunk of the same size - the same I/O with no domain work.
The ratio is demo events/s over raw events/s, measured in the same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import postgres_database
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import MIGRANTS_PER_SAVE, populate
from msafiri.settings import Settings


def time_demo(url: str, migrants: int) -> tuple[int, float]:
    system = build_system(Settings(database_url=url))
    actors = ensure_demo_officers(system)
    before = system.store.recorder.max_notification_id() or 0
    started = time.perf_counter()
    populate(system.store, actors, migrants, seed=1)
    seconds = time.perf_counter() - started
    events = system.store.recorder.max_notification_id() - before
    system.close()
    return events, seconds


def raw_postgresql(url: str, chunk_rows: int) -> tuple[int, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM msafiri_events "
            "ORDER BY notification_id"
        ).fetchall()
        conn.execute("CREATE TABLE raw_events (LIKE msafiri_events INCLUDING ALL)")
        conn.autocommit = False
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for i in range(0, len(rows), chunk_rows):
                # The same lock the recorder takes, so the baseline is a fair writer.
                cursor.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                cursor.executemany(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    rows[i : i + chunk_rows],
                )
                conn.commit()
        return len(rows), time.perf_counter() - started


def raw_sqlite(path: Path, chunk_rows: int) -> tuple[int, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    rows = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
    ).fetchall()
    schema = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'stored_events'").fetchone()[
        0
    ]
    conn.execute(schema.replace("stored_events", "raw_events", 1))
    started = time.perf_counter()
    for i in range(0, len(rows), chunk_rows):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            rows[i : i + chunk_rows],
        )
        conn.execute("COMMIT")
    conn.close()
    return len(rows), time.perf_counter() - started


def report(backend: str, migrants: int, demo: tuple[int, float], raw: tuple[int, float]) -> None:
    demo_rate = demo[0] / demo[1]
    raw_rate = raw[0] / raw[1]
    print(
        f"| {backend} | {migrants:,} | {demo[0]:,} | {demo_rate:,.0f} | {raw_rate:,.0f} "
        f"| {demo_rate / raw_rate:.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrants", type=int, default=20_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    args = parser.parse_args()
    print("| backend | migrants | events | demo events/s | raw executemany events/s | ratio |")
    print("|---|---|---|---|---|---|")
    # Rows per chunk as the demo writes them (about 8.3 events per migrant).
    chunk_rows = int(MIGRANTS_PER_SAVE * 8.3)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            demo = time_demo(f"sqlite:///{path}", args.migrants)
            report("SQLite", args.migrants, demo, raw_sqlite(path, chunk_rows))
    if args.backend in ("postgresql", "both"):
        with postgres_database() as url:
            demo = time_demo(url, args.migrants)
            report("PostgreSQL", args.migrants, demo, raw_postgresql(url, chunk_rows))


if __name__ == "__main__":
    main()
