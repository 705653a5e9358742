"""`msafiri demo`'s peak memory at several sizes, each run in a fresh process.

uv run python -m bench.bench_demo_memory --sizes 5000,10000,20000,40000 [--backend postgresql]

Each size: a new database (SQLite file in a temporary directory, or a PostgreSQL
database `dm_bench_<N>` on the shared server, upgraded with `msafiri db upgrade`,
dropped after), then `msafiri demo --migrants N --json` as a child process. Prints
one line a size: peak RSS (the largest `ru_maxrss` of the demo process and its
worker processes, from `wait4`, as `/usr/bin/time -f %M` reports it), wall
seconds, the demo's own write seconds and events, and the 1-minute load average
when the run started.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,20000,40000")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(run(size, args.backend)), flush=True)


if __name__ == "__main__":
    main()
