"""Members import throughput beside a raw baseline writing the same rows.

    uv run python -m bench.bench_import --members 20000 [--backend postgresql|sqlite|both]
        [--repeat N]

1. A members CSV of N synthetic rows (identity, phone, county, education,
   skills, a membership) is written to a temporary file.
2. `import_members()` (the body of `msafiri import members`) is timed end to
   end on a fresh database: reading and validating every line through the
   commands, building the aggregates, one atomic save per batch of
   MEMBERS_PER_SAVE members.
3. The very rows the import stored - its events AND the members' data keys -
   are read back and written again into identical empty tables (same
   columns, same indexes) by raw `executemany` (psycopg 3 / sqlite3), one
   transaction per batch of the same size (a batch's keys and events
   together), with the table lock the recorder takes - the same I/O with no
   domain work. (Until session 9 the baseline wrote the events only: ~1 key
   row a member, 3.3 events, left out of it but written by the import.)
4. The import is run again on the same file (every line already imported).
The ratio is import rows/s over raw rows/s, measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from bench.common import postgres_database
from domain.values import KENYA_COUNTIES
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.registry_import import MEMBERS_PER_SAVE, import_members
from msafiri.settings import Settings

COLUMNS = [
    *("full_name", "sex", "date_of_birth", "national_id", "passport_number", "phone"),
    *("county", "education", "skills", "registered_on"),
    *("membership_number", "starts_on", "ends_on"),
]


def write_members(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(count):
            registered = date(2025, 1, 1) + timedelta(days=rng.randint(0, 500))
            born = registered - timedelta(days=rng.randint(20 * 365, 45 * 365))
            writer.writerow(
                [
                    f"Member {n}",
                    rng.choice(("female", "male")),
                    born.isoformat(),
                    f"{30_000_000 + n:08d}",
                    f"BK{n:07d}" if rng.random() < 0.3 else "",
                    f"+2547{rng.randint(10_000_000, 99_999_999)}",
                    rng.choice(KENYA_COUNTIES),
                    rng.choice(("primary", "secondary", "tvet", "university", "none")),
                    "housekeeping;childcare",
                    registered.isoformat(),
                    f"MWF-B-{n:07d}",
                    registered.isoformat(),
                    (registered + timedelta(days=730)).isoformat(),
                ]
            )


def time_import(url: str, path: Path, workers: int | None) -> tuple[int, int, float, float, int]:
    """(members, events stored, seconds, seconds of the idempotent re-run,
    the last notification id before the import)."""
    system = build_system(Settings(database_url=url))
    actors = ensure_demo_officers(system)
    before = system.store.recorder.max_notification_id() or 0
    started = time.perf_counter()
    report = import_members(system, actors["registrar"], path, workers=workers)
    seconds = time.perf_counter() - started
    events = system.store.recorder.max_notification_id() - before
    started = time.perf_counter()
    again = import_members(system, actors["registrar"], path, workers=workers)
    rerun = time.perf_counter() - started
    assert again.imported == 0 and again.already_imported == report.imported
    system.close()
    return report.imported, events, seconds, rerun, before


def _batches(events: list, keys: list, members: int) -> list[tuple[list, list]]:
    """The rows in as many transactions as the import made (one per
    MEMBERS_PER_SAVE members), each with its share of the keys and events."""
    count = max(1, math.ceil(members / MEMBERS_PER_SAVE))
    per_event, per_key = math.ceil(len(events) / count), math.ceil(len(keys) / count)
    return [
        (keys[i * per_key : (i + 1) * per_key], events[i * per_event : (i + 1) * per_event])
        for i in range(count)
    ]


def raw_postgresql(url: str, after: int, members: int) -> tuple[int, float]:
    """The import's events and data keys written again by `executemany`."""
    with psycopg.connect(url, autocommit=True) as conn:
        events = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM msafiri_events "
            "WHERE notification_id > %s ORDER BY notification_id",
            (after,),
        ).fetchall()
        keys = conn.execute(
            "SELECT key_ref, subject, wrapped, created_at FROM data_keys ORDER BY created_at"
        ).fetchall()
        conn.execute("CREATE TABLE raw_events (LIKE msafiri_events INCLUDING ALL)")
        conn.execute("CREATE TABLE raw_keys (LIKE data_keys INCLUDING ALL)")
        conn.autocommit = False
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for key_rows, event_rows in _batches(events, keys, members):
                # The same lock the recorder takes, so the baseline is a fair writer.
                cursor.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                cursor.executemany(
                    "INSERT INTO raw_keys (key_ref, subject, wrapped, created_at) "
                    "VALUES (%s, %s, %s, %s)",
                    key_rows,
                )
                cursor.executemany(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    event_rows,
                )
                conn.commit()
        return len(events), time.perf_counter() - started


def raw_sqlite(path: Path, after: int, members: int) -> tuple[int, float]:
    """As raw_postgresql, through sqlite3 on the import's own file."""
    conn = sqlite3.connect(path, isolation_level=None)
    events = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events "
        "WHERE rowid > ? ORDER BY rowid",
        (after,),
    ).fetchall()
    keys = conn.execute(
        "SELECT key_ref, subject, wrapped, created_at FROM data_keys ORDER BY rowid"
    ).fetchall()
    for table, copy in (("stored_events", "raw_events"), ("data_keys", "raw_keys")):
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", (table,)
        ).fetchall():
            conn.execute(sql.replace(table, copy))  # the table and its indexes
    started = time.perf_counter()
    for key_rows, event_rows in _batches(events, keys, members):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO raw_keys (key_ref, subject, wrapped, created_at) VALUES (?, ?, ?, ?)",
            key_rows,
        )
        conn.executemany(
            "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            event_rows,
        )
        conn.execute("COMMIT")
    conn.close()
    return len(events), time.perf_counter() - started


def report(backend: str, measured: tuple, raw: tuple[int, float]) -> float:
    """Print one row; return its ratio."""
    members, events, seconds, rerun, _ = measured
    rate, raw_rate = events / seconds, raw[0] / raw[1]
    print(
        f"| {backend} | {members:,} | {events:,} | {members / seconds:,.0f} | {rate:,.0f} "
        f"| {raw_rate:,.0f} | {rate / raw_rate:.2f}x | {rerun:.1f} s |",
        flush=True,
    )
    return rate / raw_rate


def run_sqlite(tmp: str, source: Path, workers: int | None, run: int) -> tuple:
    path = Path(tmp) / f"bench-{run}.db"
    measured = time_import(f"sqlite:///{path}", source, workers)
    raw = raw_sqlite(path, measured[4], measured[0])
    for leftover in Path(tmp).glob(f"bench-{run}.db*"):
        leftover.unlink()
    return measured, raw


def run_postgresql(source: Path, workers: int | None) -> tuple:
    with postgres_database() as url:
        measured = time_import(url, source, workers)
        return measured, raw_postgresql(url, measured[4], measured[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that validate and build (default 0: all in this one)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per backend, each on a fresh database, alternating backends "
        "(a busy machine moves single runs a lot); the median ratio is printed last",
    )
    args = parser.parse_args()
    print(
        "| backend | members | events | members/s | import events/s "
        "| raw executemany events/s | ratio | re-run (all already imported) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "members.csv"
        write_members(source, args.members)
        for run in range(args.repeat):
            if args.backend in ("sqlite", "both"):
                ratio = report("SQLite", *run_sqlite(tmp, source, args.workers, run))
                ratios.setdefault("SQLite", []).append(ratio)
            if args.backend in ("postgresql", "both"):
                ratio = report("PostgreSQL", *run_postgresql(source, args.workers))
                ratios.setdefault("PostgreSQL", []).append(ratio)
    if args.repeat > 1:
        for backend, values in ratios.items():
            print(f"{backend}: median ratio {statistics.median(values):.2f}x of {len(values)} runs")


if __name__ == "__main__":
    main()
