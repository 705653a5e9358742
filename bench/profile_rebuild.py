"""Where a shadow rebuild's time goes: per read model, decoding, reading the log.

    uv run python -m bench.profile_rebuild --database-url URL [--cprofile FILE]
    uv run python -m bench.profile_rebuild --database-url URL --processes 2

Runs `rebuild_shadow()` of every read model in-process on an existing
database (e.g. one `msafiri demo` filled) and prints, besides the rate, the
seconds spent (--detail) in each projection's `apply`, in decoding pages and in reading
them - wall time of this process's calls (the server's work for a
statement is inside its projection's figure). With --cprofile the whole
rebuild also runs under cProfile and the file is written for pstats.
With --processes N the build is split across N processes (PostgreSQL,
msafiri/shadow_parts.py); their CPU is counted with this process's, and the
server's backends are sampled while they live (a part's connections close
before the build ends).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import resource
import threading
import time
from collections import defaultdict

from msafiri.bootstrap import ShadowParts, build_system
from msafiri.settings import Settings
from projections import log as log_module
from projections import runner as runner_module
from projections.db import ReadModelDb
from projections.readmodels import open_read_models

_WORDS = re.compile(r"\s+")


def statement_label(method: str, args: tuple) -> str:
    """A short, stable name for a call: the method and its SQL's head."""
    text = args[0] if args and isinstance(args[0], str) else ""
    if method in ("insert_many", "delete_keys"):
        return f"{method} {text}"
    return f"{method} {_WORDS.sub(' ', text)[:90]}"


def backend_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) a server process has used and the bytes
    it wrote (WAL, evicted pages: its `wchar`); zeros once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/io") as io:
            wrote = next(int(line.split()[1]) for line in io if line.startswith("wchar"))
    except OSError:
        return 0.0, 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), float(wrote)


def database_backends(db: ReadModelDb) -> dict[int, tuple[float, float]]:
    """The CPU used so far by every server process on this database."""
    rows = db.fetchall("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return {pid: backend_cpu(pid) for (pid,) in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cprofile")
    parser.add_argument(
        "--max-cached-keys",
        type=int,
        help="msafiri.data_keys.MAX_CACHED_KEYS for this run (to see a bigger log's misses)",
    )
    parser.add_argument("--detail", action="store_true", help="time each read model and statement")
    parser.add_argument("--processes", type=int, default=1, help="split the build (PostgreSQL)")
    args = parser.parse_args()
    if args.max_cached_keys:
        import msafiri.data_keys

        msafiri.data_keys.MAX_CACHED_KEYS = args.max_cached_keys
    settings = Settings(database_url=args.database_url)
    system = build_system(settings)
    models = open_read_models(settings, system.database, system.store)
    models.shadow_parts = ShadowParts(settings)
    spent: dict[str, float] = defaultdict(float)

    def timed(label, function):
        def wrapper(*a, **k):
            began = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                spent[label] += time.perf_counter() - began

        return wrapper

    for projection in models.projections if args.detail else ():
        projection_type = type(projection)
        projection_type.apply = timed(projection.name, projection_type.apply)
    if args.detail:
        log_module.Decoder.decode_page = timed("(decode)", log_module.Decoder.decode_page)
        runner_module.read_page = timed("(read page)", runner_module.read_page)
    by_statement: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def timed_sql(method: str, function, consume: bool = False):
        def wrapper(self, *a, **k):
            if self.renames is None or not self.renames:
                return function(self, *a, **k)  # the live runner's catch-up
            began = time.perf_counter()
            try:
                result = function(self, *a, **k)
                return list(result) if consume else result
            finally:
                entry = by_statement[statement_label(method, a)]
                entry[0] += 1
                entry[1] += time.perf_counter() - began

        return wrapper

    if args.detail:
        for method in ("execute", "executemany", "insert_many", "delete_keys"):
            setattr(ReadModelDb, method, timed_sql(method, getattr(ReadModelDb, method)))
        ReadModelDb.select_in = timed_sql("select_in", ReadModelDb.select_in, consume=True)
    # The server's side of the work (same machine): CPU of its processes
    # on this database, read before each connection closes.
    server_cpu = [0.0, 0.0]
    counted: set[int] = set()
    close = ReadModelDb.close

    def close_counted(self) -> None:
        if self.is_postgres and self.conn is not None and not self.conn.closed:
            counted.add(self.conn.info.backend_pid)
            used, wrote = backend_cpu(self.conn.info.backend_pid)
            server_cpu[0] += used
            server_cpu[1] += wrote
        close(self)

    ReadModelDb.close = close_counted
    before = database_backends(models.runner.db)
    # Backends that come and go during the build (the parts'): the last
    # figures seen of each, sampled from a connection of our own.
    seen: dict[int, tuple[float, float]] = {}
    sampling = threading.Event()

    def sample() -> None:
        watcher = ReadModelDb(models.database)
        try:
            while not sampling.wait(0.25):
                for pid, figures in database_backends(watcher).items():
                    if pid != watcher.conn.info.backend_pid and figures != (0.0, 0.0):
                        seen[pid] = figures
        finally:
            watcher.close()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    profiler = cProfile.Profile() if args.cprofile else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    began, cpu_began = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    events = models.rebuild_shadow(processes=args.processes)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (ended.ru_utime - children.ru_utime) + (ended.ru_stime - children.ru_stime)
    sampling.set()
    sampler.join()
    after = {**seen, **database_backends(models.runner.db)}
    zero = (0.0, 0.0)
    # Ours that closed were counted by close_counted; the parts' backends
    # (gone now) by what was last sampled of them.
    rest = {pid: c for pid, c in after.items() if pid not in counted}
    server = server_cpu[0] + sum(c[0] - before.get(pid, zero)[0] for pid, c in rest.items())
    wrote = server_cpu[1] + sum(c[1] - before.get(pid, zero)[1] for pid, c in rest.items())
    print(
        f"{events:,} events in {seconds:.1f} s: {events / seconds:,.0f} events/s; "
        f"processes {args.processes}; CPU s: this process and its parts {cpu:.1f}, "
        f"server {server:.1f}, "
        f"{1e6 * (cpu + server) / events:.0f} us/event; server wrote {wrote / 1e6:,.0f} MB"
    )
    for label, value in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:24} {value:8.2f} s  {100 * value / seconds:5.1f}%")
    if not args.detail:
        ranked = []
    else:
        print("statements of the shadow build (calls, seconds), top 25:")
        ranked = sorted(by_statement.items(), key=lambda kv: -kv[1][1])[:25]
    for label, (calls, value) in ranked:
        print(f"  {value:7.2f} s {calls:6d}  {label}")
    models.close()
    system.close()


if __name__ == "__main__":
    main()
