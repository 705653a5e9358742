"""Where one money decision spends its time, and how much of it is spent
holding the fund's advisory lock (what makes the other officers wait).

    uv run python -m bench.profile_money_decision [--officers 10] [--profile approve]

Sets up the workload of tests/fifty_officers.py on a fresh PostgreSQL
database, then, in a fresh system (cold book cache, as a new officer process),
runs each fund officer's approve, pay and request one after another - no
contention - and reports per command: the whole call, the time the fund's
lock was held, and the SQL statements run (count and time) inside and outside
the lock. With --profile KIND it prints cProfile's top functions for the lock
sections of that kind of command. The database is dropped after.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.common import postgres_database
from msafiri import postgres_recorder
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests.conftest import Officers
from tests.fifty_officers import officer_commands, set_up


class Probe:
    """Counts SQL statements and lock time for the command being run."""

    def __init__(self) -> None:
        self.reset()
        self.profiler: cProfile.Profile | None = None

    def reset(self) -> None:
        self.held_ms = 0.0
        self.sql: dict[bool, list[tuple[str, float]]] = {True: [], False: []}

    def install(self) -> None:
        probe = self
        original_execute = psycopg.Cursor.execute
        original_many = psycopg.Cursor.executemany

        def execute(cursor, query, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original_execute(cursor, query, *args, **kwargs)
            finally:
                probe.statement(query, started)

        def executemany(cursor, query, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original_many(cursor, query, *args, **kwargs)
            finally:
                probe.statement(query, started)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]

    def statement(self, query, started: float) -> None:
        text = query if isinstance(query, str) else repr(query)
        held = postgres_recorder._held.get() is not None
        self.sql[held].append((" ".join(text.split())[:90], (time.perf_counter() - started) * 1e3))

    def wrap_serialised(self, store) -> None:
        original = store.serialised
        probe = self

        @contextmanager
        def serialised(key):
            with original(key):
                started = time.perf_counter()
                if probe.profiler is not None:
                    probe.profiler.enable()
                try:
                    yield
                finally:
                    if probe.profiler is not None:
                        probe.profiler.disable()
                    probe.held_ms += (time.perf_counter() - started) * 1e3

        store.serialised = serialised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=10)
    parser.add_argument("--profile", default="")
    parser.add_argument("--queries", action="store_true", help="list the statements under the lock")
    args = parser.parse_args()
    probe = Probe()
    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        system = build_system(Settings(database_url=url))
        plan = set_up(system, Officers(system), url, Path(tmp))
        system.close()
        # A fresh system, as one officer process of the workload.
        system = build_system(Settings(database_url=url, pool_size=2, pool_max_overflow=3))
        probe.install()
        probe.wrap_serialised(system.store)
        if args.profile:
            probe.profiler = None
        rows: dict[str, list[dict]] = defaultdict(list)
        listed: set[str] = set()
        profiler = cProfile.Profile()
        for i in range(min(args.officers, len(plan.fund))):
            commands = officer_commands(system, plan, i, reference="MP-PROF")
            for kind, command in commands.items():
                probe.reset()
                # The first officer's commands warm the process (cold book).
                probe.profiler = profiler if kind == args.profile and i > 0 else None
                started = time.perf_counter()
                command()
                total = (time.perf_counter() - started) * 1e3
                rows[kind].append(
                    {
                        "total": total,
                        "held": probe.held_ms,
                        "in_n": len(probe.sql[True]),
                        "in_ms": sum(ms for _, ms in probe.sql[True]),
                        "out_n": len(probe.sql[False]),
                        "out_ms": sum(ms for _, ms in probe.sql[False]),
                    }
                )
                if args.queries and i == 1 and kind not in listed:
                    listed.add(kind)
                    print(f"\n{kind}: statements under the lock")
                    for text, ms in probe.sql[True]:
                        print(f"  {ms:6.2f} ms  {text}")
                    print(f"{kind}: statements outside the lock")
                    for text, ms in probe.sql[False]:
                        print(f"  {ms:6.2f} ms  {text}")
        system.close()
    print("\n(first officer's commands are the cold start; medians over the others)")
    print(
        "| command | first ms | whole ms | lock held ms | SQL in lock n / ms | SQL outside n / ms |"
    )
    print("|---|---|---|---|---|---|")
    for kind, found in rows.items():
        rest = found[1:] or found

        def med(key: str, rest=rest) -> float:
            return statistics.median(r[key] for r in rest)

        print(
            f"| {kind} | {found[0]['total']:.1f} | {med('total'):.1f} | {med('held'):.1f} | "
            f"{med('in_n'):.0f} / {med('in_ms'):.1f} | {med('out_n'):.0f} / {med('out_ms'):.1f} |"
        )
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())


if __name__ == "__main__":
    main()
