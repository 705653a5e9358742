"""`msafiri demo`'s peak memory at several sizes, each run in a fresh process.

uv run python -m bench.bench_demo_memory --sizes 5000,10000,20000,40000 [--backend postgresql]

Each size: a new database (SQLite file in a temporary directory, or a PostgreSQL
database `dm_bench_<N>` on the shared server, upgraded with `msafiri db upgrade`,
dropped after), then `msafiri demo --migrants N --json` as a child process. Prints
one line a size: peak RSS (the largest `ru_maxrss` of the demo process and its
worker processes, from `wait4`, as `/usr/bin/time -f %M` reports it), wall
seconds, the demo's own write seconds and events, and the 1-minute load average
when the run started.

uv run python -m bench.bench_demo_memory --write-phase --sizes 10000,20000

The write phase alone (`populate_with_fund`, what `msafiri demo` does before its
catch-up), in a fresh process a size on a SQLite file: the demo process's own
VmHWM (`/proc/self/status`) when it ends - the catch-up's read-model page cache
(256 MiB on SQLite) does not hide it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = "postgresql://postgres@127.0.0.1:5432"


def _msafiri() -> str:
    return str(Path(sys.executable).parent / "msafiri")


def run(size: int, backend: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="dm-bench-") as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/demo.db"
        else:
            import psycopg

            name = f"dm_bench_{size}"
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                conn.execute(f"CREATE DATABASE {name}")
            url = f"{SERVER}/{name}"
        env = {**os.environ, "MSAFIRI_DATABASE_URL": url}
        try:
            if backend != "sqlite":
                upgrade = [_msafiri(), "db", "upgrade"]
                subprocess.run(upgrade, env=env, check=True, capture_output=True)
            load = os.getloadavg()[0]
            started = time.perf_counter()
            child = subprocess.Popen(
                [_msafiri(), "demo", "--migrants", str(size), "--json"],
                env=env,
                stdout=subprocess.PIPE,
            )
            out = child.stdout.read() if child.stdout else b""
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
            if child.returncode != 0:
                raise SystemExit(f"demo --migrants {size} failed ({child.returncode})")
            result = json.loads(out.decode().strip().splitlines()[-1])
        finally:
            if backend != "sqlite":
                with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")
    return {
        "backend": backend,
        "migrants": size,
        "events": result["events"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "wall_s": round(wall, 1),
        "write_s": result["seconds"],
        "load": round(load, 1),
    }


def write_phase(size: int) -> None:
    """In a child process: the demo's write phase, then its own peak RSS."""
    from msafiri.bootstrap import build_system
    from msafiri.demo.officers import ensure_demo_officers
    from msafiri.demo.population import DEMO_TODAY, history_start, populate_with_fund
    from msafiri.settings import Settings

    with tempfile.TemporaryDirectory(prefix="dm-bench-") as tmp:
        system = build_system(Settings(database_url=f"sqlite:///{tmp}/demo.db"), create=True)
        actors = ensure_demo_officers(system, at=history_start(DEMO_TODAY))
        load, started = os.getloadavg()[0], time.perf_counter()
        populate_with_fund(system, actors, size, 2026)
        wall = time.perf_counter() - started
        events = system.store.recorder.max_notification_id()
        system.close()
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    line = {"phase": "write", "migrants": size, "events": events, "write_peak_rss_mb": peak // 1024}
    print(json.dumps({**line, "wall_s": round(wall, 1), "load": round(load, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,20000,40000")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--write-phase", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        write_phase(args.child)
        return
    for size in (int(s) for s in args.sizes.split(",")):
        if args.write_phase:
            command = [sys.executable, "-m", "bench.bench_demo_memory", "--child", str(size)]
            subprocess.run(command, check=True)
        else:
            print(json.dumps(run(size, args.backend)), flush=True)


if __name__ == "__main__":
    main()
