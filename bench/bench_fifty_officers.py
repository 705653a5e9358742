"""Fifty officers at once, and a cold `fund balances`, on PostgreSQL.

    uv run python -m bench.bench_fifty_officers [--part officers|cold|both] [--migrants 50000]
    uv run python -m bench.bench_fifty_officers --part cold --database-url URL  # as it is

officers: the workload of tests/fifty_officers.py (5 processes x 10 officers:
  searches, case commands, requests, approvals, payments, a contribution
  import, all released together) on a fresh database. Reports the latency
  of each money command (p50/p95/max) and how many failed. Baseline, same
  run: the rows those commands stored, written again into an identical empty
  table by raw psycopg, one transaction per command (split at each receipt)
  taking the fund's advisory lock and the recorder's table lock.
  Also per command: how long it waited for the fund and held it (median),
  how long the whole burst took, and the CPU time the officer processes used.
  `--processes 50` runs one officer a process (production's layout: each
  officer's TUI or browser session is a process) on a throwaway cluster of its
  own (max_connections 400, fsync on; the shared server's 100 are too few).
  Diagnostics (environment): FIFTY_OFFICERS_PHASES=1 also times a money
  command's phases (role check, reads before the fund, the catch-up holding
  it, the data keys); FIFTY_OFFICERS_WARM=1 lets each process open its connections
  and read the book before the start (steady state rather than start-up);
  FIFTY_OFFICERS_SWITCH_MS=0.5 sets the processes' GIL switch interval.
cold: `msafiri demo --migrants N` into a fresh database, then fresh processes
  each load the fund's book (the first money command and `fund balances` do
  exactly this) and print the seconds and peak memory; the first run after
  the demo finds no snapshot, replays the book and takes one; later runs
  start from it. In the same fresh process the whole book is also replayed
  from its first event (what every cold start did before snapshots), and the
  whole `msafiri fund balances` command is timed beside a raw psycopg
  process reading the book's rows. The database is dropped after (with
  `--database-url`, an existing database is timed and kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.utils import get_topic

from bench.common import postgres_database
from ledger.events import CommandAccepted, CommandRefused
from msafiri.bootstrap import build_system
from msafiri.postgres_recorder import advisory_key
from msafiri.settings import Settings
from tests.conftest import Officers
from tests.fifty_officers import CPU, MONEY, PROCESSES, run_all, set_up

RECEIPTS = {get_topic(CommandAccepted), get_topic(CommandRefused)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# One officer a process: 50 processes, each with its event-store pool (1 + 1),
# read-model, data-key and other connections - more than the shared server's
# max_connections (100) allows beside everything else. So that layout runs on
# a cluster of its own, durable like the shared one (fsync on).
OWN_SERVER = {"fsync": "on", "max_connections": "400", "shared_buffers": "512MB"}


def officers_part(processes: int = PROCESSES) -> None:
    own = OWN_SERVER if processes > PROCESSES else None
    with postgres_database(own) as url, tempfile.TemporaryDirectory() as tmp:
        system = build_system(Settings(database_url=url))
        plan = set_up(system, Officers(system), url, Path(tmp))
        book_id = system.ledger.book_id
        before = system.store.recorder.max_notification_id() or 0
        system.close()
        started = time.perf_counter()
        results = run_all(plan, processes)
        wall = time.perf_counter() - started
        raw = raw_transactions(url, before, book_id.bytes)
    cpu = sum(r["ms"] for r in results if r["kind"] == CPU) / 1000
    # The whole machine from the first process's start to the last one's end.
    first = min((r["machine"][0] for r in results if r["kind"] == CPU), key=lambda m: m[0])
    last = max((r["machine"][1] for r in results if r["kind"] == CPU), key=lambda m: m[0])
    busy = (last[1] - first[1]) / max(1, last[2] - first[2])
    results = [r for r in results if r["kind"] != CPU]
    failed = [r for r in results if r["error"]]
    money = [r["ms"] for r in results if r["kind"] in MONEY and not r["error"]]
    print(f"{len(results)} commands by 50 officers in {wall:.1f} s; failed: {len(failed)}")
    for row in failed[:5]:
        print("  ", row)
    print("| command | n | p50 ms | p95 ms | max ms | p50 waiting for the fund | p50 holding it |")
    print("|---|---|---|---|---|---|---|")
    for kind in (*MONEY, "search", "report incident", "register migrant"):
        done = [r for r in results if r["kind"] == kind and not r["error"]]
        if done:
            ms = [r["ms"] for r in done]
            wait = statistics.median(r["wait_ms"] for r in done)
            held = statistics.median(r["held_ms"] for r in done)
            print(
                f"| {kind} | {len(ms)} | {statistics.median(ms):.0f} | "
                f"{percentile(ms, 0.95):.0f} | {max(ms):.0f} | {wait:.0f} | {held:.1f} |"
            )
    p95 = percentile(money, 0.95)
    for kind in ("approve", "pay", "request"):
        done = [r for r in results if r["kind"] == kind and not r["error"] and r.get("phases")]
        if done and any(done[0]["phases"].values()):
            parts = ", ".join(
                f"{k} {statistics.median(r['phases'][k] for r in done):.0f}"
                for k in done[0]["phases"]
            )
            print(f"  {kind} p50 phases: {parts}")
    print(
        f"| all money commands | {len(money)} | {statistics.median(money):.0f} | {p95:.0f} | "
        f"{max(money):.0f} | | |"
    )
    timed = [r for r in results if "at" in r]
    burst = max(r["at"] for r in timed) - min(r["at"] - r["ms"] / 1000 for r in timed)
    held = sum(r["held_ms"] for r in timed) / 1000
    print(
        f"the 161 commands ran within {burst:.2f} s (first start to last end); "
        f"the fund was held {held:.2f} s of it in all; the {processes} processes used "
        f"{cpu:.2f} s of CPU; the machine's {os.cpu_count()} cores were {busy:.0%} busy "
        f"meanwhile (every process and the server)"
    )
    raw_p95 = percentile(raw, 0.95)
    print(
        f"\nraw transactions (same rows, one per command, advisory + table lock): "
        f"n={len(raw)}, p95 {raw_p95:.1f} ms; money p95 / raw p95 = {p95 / raw_p95:.1f}x"
    )


def raw_transactions(url: str, after: int, key: bytes) -> list[float]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM msafiri_events "
            "WHERE notification_id > %s ORDER BY notification_id",
            (after,),
        ).fetchall()
        conn.execute("CREATE TABLE raw_events (LIKE msafiri_events INCLUDING ALL)")
        conn.autocommit = False
        groups, current = [], []
        for row in rows:
            current.append(row)
            if row[2] in RECEIPTS:
                groups.append(current)
                current = []
        lock = advisory_key(UUID(bytes=key))
        times = []
        with conn.cursor() as cursor:
            for group in groups:
                started = time.perf_counter()
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
                cursor.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                cursor.executemany(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    group,
                )
                conn.commit()
                times.append((time.perf_counter() - started) * 1000)
        return times


LOAD_BOOK = """
import json, resource, sys, time
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
system = build_system(Settings(database_url=sys.argv[1]))
started = time.perf_counter()
book = system.ledger.book()
load = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
replayed = None
for event in system.store.events.get(system.ledger.book_id):
    replayed = event.mutate(replayed)
full = time.perf_counter() - started
assert replayed.version == book.version
print(json.dumps({"load": load, "rss_kb": rss, "full": full, "version": book.version}))
system.close()
"""

RAW_READ = """
import sys, time, uuid, psycopg
started = time.perf_counter()
with psycopg.connect(sys.argv[1]) as conn:
    rows = conn.execute(
        "SELECT state FROM msafiri_events WHERE originator_id = %s ORDER BY originator_version",
        (uuid.UUID(sys.argv[2]),),
    ).fetchall()
print(len(rows))
"""


def cold_part(migrants: int, existing: str | None = None) -> None:
    if existing:  # a database grown beforehand (`msafiri demo`, `--add`): time it as it is
        cold_book(existing)
        return
    cli = str(Path(sys.executable).parent / "msafiri")
    with postgres_database() as url:
        env = {**os.environ, "MSAFIRI_DATABASE_URL": url}
        started = time.perf_counter()
        subprocess.run(
            [cli, "demo", "--migrants", str(migrants), "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"demo of {migrants:,} migrants built in {time.perf_counter() - started:.0f} s")
        cold_book(url)


def cold_book(url: str) -> None:
    cli = str(Path(sys.executable).parent / "msafiri")
    env = {**os.environ, "MSAFIRI_DATABASE_URL": url}
    system = build_system(Settings(database_url=url))
    book_id = str(system.ledger.book_id)
    events = system.store.recorder.max_notification_id()
    system.close()
    print(f"events in the log: {events:,}")
    print("| run | book events | book load s | peak RSS MB | full replay s (same process) |")
    print("|---|---|---|---|---|")
    for run in ("1st (no snapshot yet)", "2nd", "3rd"):
        out = (
            subprocess.run(
                [sys.executable, "-c", LOAD_BOOK, url],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        print(
            f"| {run} | {r['version']:,} | {r['load']:.3f} | {r['rss_kb'] / 1024:.0f} "
            f"| {r['full']:.3f} |"
        )
    walls = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([cli, "fund", "balances"], env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    raws = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", RAW_READ, url, book_id], check=True, capture_output=True
        )
        raws.append(time.perf_counter() - started)
    ours, raw = min(walls), min(raws)
    print(
        f"\n`msafiri fund balances`, whole process, best of 3: {ours:.2f} s; raw psycopg "
        f"process reading the book's rows: {raw:.2f} s; ratio {ours / raw:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("officers", "cold", "both"), default="both")
    parser.add_argument("--migrants", type=int, default=50_000)
    parser.add_argument("--database-url", help="cold part: time this existing database")
    parser.add_argument(
        "--processes",
        type=int,
        default=PROCESSES,
        help=f"officers part: processes the fifty officers share ({PROCESSES}: ten each, as "
        "the test; 50: one each, as in production, on a cluster of its own)",
    )
    args = parser.parse_args()
    if not 1 <= args.processes <= 50:
        parser.error("--processes: from 1 to 50")
    if args.part in ("officers", "both"):
        officers_part(args.processes)
    if args.part in ("cold", "both"):
        cold_part(args.migrants, args.database_url)


if __name__ == "__main__":
    main()
