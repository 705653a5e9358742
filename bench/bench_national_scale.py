"""Issue 17, item 8: grow one PostgreSQL database and record every figure at each size.

    uv run python -m bench.bench_national_scale --sizes 50000,200000,1000000 \\
        --database msafiri_scale --out docs/national-scale.jsonl

The database is created (it must not exist), upgraded, and grown by the demo
itself - `msafiri demo --migrants <first size>`, then `--add` the difference up
to each next size - so a growth table costs one demo of the largest size, not
one per size. At each size, in fresh processes, one after another:

- demo: wall seconds of that growth step, events added, peak RSS of the demo;
- the database's size and its events;
- `audit verify` (whole command) against the raw keyset SELECT of every row
  (bench_audit_verify --whole --database-url, one run): seconds and ratio;
- a cold book: a fresh process loads the fund's book (the first money command's
  work) - seconds and peak RSS - and `msafiri fund balances`, whole process,
  best of 3;
- case search p95 (bench_search, 1,000 queries) and keystroke-to-results p95
  in the TUI (bench_tui_search);
- `msafiri projections rebuild --shadow --processes 2`: seconds and events per second.

Each size's figures are JSON lines in `--out`, one appended after each group
of figures ("partial": true until the rebuild's is in, so a run cut short keeps
what it measured), and a row of the table printed at the end. `--existing URL
--sizes N` measures a database already grown (e.g. after a run cut short),
without the demo. A 1M run needs ~30 GB of disk and hours; start it on a quiet
machine and nothing else. `--keep` leaves the database (default: dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.bench_fifty_officers import LOAD_BOOK

SERVER = "postgresql://postgres@127.0.0.1:5432"


def environment(url: str) -> dict[str, str]:
    env = {**os.environ, "MSAFIRI_DATABASE_URL": url}
    # As installed: bytecode cached. (Where PYTHONDONTWRITEBYTECODE is set, every
    # fresh process compiles ~550 modules again, ~1 s that no deployment pays.)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def msafiri(url: str, *args: str) -> subprocess.CompletedProcess:
    cli = str(Path(sys.executable).parent / "msafiri")
    return subprocess.run(
        [cli, *args], env=environment(url), check=True, capture_output=True, text=True
    )


def python(*args: str, url: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], env=environment(url), check=True, capture_output=True, text=True
    )
    return done.stdout


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def children_peak_mb() -> float:
    # ru_maxrss of the children waited for so far: the largest of them (KB on Linux).
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def database_facts(url: str) -> tuple[int, float]:
    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT coalesce(max(notification_id), 0) FROM msafiri_events")
        count = events.fetchone()[0]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return count, size / 1e9


def verify_figures(url: str) -> dict:
    out = python("-m", "bench.bench_audit_verify", "--whole", "--database-url", url, url=url)
    row = [cell.strip() for cell in out.strip().splitlines()[-1].strip("|").split("|")]
    # backend | migrants | events | verify s | raw SELECT s | verify ev/s | raw ev/s | ratio | load
    return {"verify_s": float(row[3]), "raw_select_s": float(row[4]), "verify_ratio": row[7]}


def cold_book(url: str) -> dict:
    loads = [json.loads(python("-c", LOAD_BOOK, url, url=url).splitlines()[-1]) for _ in range(3)]
    balances = min(timed(lambda: msafiri(url, "fund", "balances")) for _ in range(3))
    best = min(loads, key=lambda r: r["load"])
    return {
        "book_events": best["version"],
        "cold_book_s": round(best["load"], 3),
        "cold_book_rss_mb": round(max(r["rss_kb"] for r in loads) / 1024),
        "fund_balances_process_s": round(balances, 2),
    }


def search_figures(url: str) -> dict:
    search = json.loads(
        python("-m", "bench.bench_search", "--database-url", url, "--queries", "1000", url=url)
    )
    tui = json.loads(python("-m", "bench.bench_tui_search", "--database-url", url, url=url))
    return {"search_p95_ms": search["p95_ms"], "keystroke_p95_ms": tui["p95_ms"]}


def rebuild_figures(url: str, events: int, processes: int = 2) -> dict:
    """`projections rebuild --shadow --processes N` (2 on this 2-core machine:
    session 11 measured 1.6x one process at 100k migrants)."""
    command = ("projections", "rebuild", "--shadow", "--processes", str(processes), "--json")
    seconds = timed(lambda: msafiri(url, *command))
    return {
        "rebuild_shadow_s": round(seconds, 1),
        "rebuild_events_per_s": round(events / seconds),
        "rebuild_processes": processes,
    }


def measure_size(
    url: str, migrants: int, grown_from: int, out: str, rebuild_processes: int = 2
) -> dict:
    add = ["--add"] if grown_from else []
    step = migrants - grown_from
    before, _ = database_facts(url)
    demo_s = timed(lambda: msafiri(url, "demo", "--migrants", str(step), *add, "--json"))
    events, _ = database_facts(url)
    demo = {
        "demo_step_migrants": step,
        "demo_step_s": round(demo_s, 1),
        "demo_step_events_per_s": round((events - before) / demo_s),
        "demo_peak_rss_mb": round(children_peak_mb()),
    }
    return measure(url, migrants, out, demo, rebuild_processes)


def measure(
    url: str,
    migrants: int,
    out: str,
    figures: dict | None = None,
    rebuild_processes: int = 2,
) -> dict:
    """Every figure of a database at this size, the rebuild (the longest) last.
    A line is appended to `out` after each group ("partial": true until the
    last), so a run cut short keeps what it measured."""
    events, size_gb = database_facts(url)
    figures = {
        "migrants": migrants,
        "events": events,
        "database_gb": round(size_gb, 2),
        **(figures or {}),
        "load_before": round(os.getloadavg()[0], 1),
    }
    for group in (verify_figures, cold_book, search_figures, rebuild_figures):
        if group is rebuild_figures:
            figures |= rebuild_figures(url, events, rebuild_processes)
        else:
            figures |= group(url)
        figures["partial"] = group is not rebuild_figures
        with open(out, "a") as lines:
            lines.write(json.dumps(figures) + "\n")
    figures["load_after"] = round(os.getloadavg()[0], 1)
    return figures


COLUMNS = (
    ("migrants", "migrants"),
    ("events", "events"),
    ("database_gb", "DB GB"),
    ("demo_step_s", "demo step s"),
    ("demo_step_events_per_s", "demo ev/s"),
    ("verify_s", "verify s"),
    ("verify_ratio", "verify ratio"),
    ("cold_book_s", "cold book s"),
    ("cold_book_rss_mb", "book RSS MB"),
    ("fund_balances_process_s", "fund balances s"),
    ("search_p95_ms", "search p95 ms"),
    ("keystroke_p95_ms", "keystroke p95 ms"),
    ("rebuild_events_per_s", "rebuild ev/s"),
    ("load_before", "load"),
)


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |"]
    lines.append("|" + "---|" * len(COLUMNS))
    for row in rows:
        cells = [
            f"{row[k]:,}" if isinstance(row.get(k), int) else str(row.get(k, "-"))
            for k, _ in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000,1000000", help="migrants, ascending")
    parser.add_argument("--database", default="msafiri_scale", help="created; must not exist")
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--out", default="national-scale.jsonl", help="a JSON line per size")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--existing",
        metavar="URL",
        help="measure this database as it is (no demo; --sizes: its one size in migrants)",
    )
    parser.add_argument(
        "--rebuild-processes",
        type=int,
        default=2,
        help="the shadow rebuild's --processes (session 11: 2 on this 2-core machine)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if sizes != sorted(set(sizes)) or sizes[0] <= 0:
        parser.error("--sizes: positive numbers of migrants, ascending, e.g. 50000,200000")
    if args.existing:
        if len(sizes) != 1:
            parser.error("--existing: give its one size, e.g. --sizes 1000000")
        row = measure(args.existing, sizes[0], args.out, None, args.rebuild_processes)
        print(json.dumps(row))
        print(table([row]))
        return
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{args.database}"')
    url = f"{args.server}/{args.database}"
    rows: list[dict] = []
    try:
        msafiri(url, "db", "upgrade", "--json")
        grown = 0
        for migrants in sizes:
            row = measure_size(url, migrants, grown, args.out, args.rebuild_processes)
            grown = migrants
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if rows:
            print(table(rows))
        if not args.keep:
            with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
