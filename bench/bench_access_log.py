"""Case open and case search with the access log on and off, in one run.

    MSAFIRI_DATABASE_URL=sqlite:////tmp/bench.db uv run msafiri demo --migrants 20000
    uv run python -m bench.bench_access_log --database-url sqlite:////tmp/bench.db

A case open is what `msafiri case show` and the TUI's case screen read: the
case loaded from its events and its read-model row. A search is the first
page of 50 for a surname prefix. "off" does only that; "on" also records
the read as the CLI and TUI do (`AccessLogService.record_read`, which also
asks how the officer holds the case, to log a grant use; buffered: the
background thread writes the chained batches meanwhile); "sync" writes each
entry in its own transaction before returning (MSAFIRI_ACCESS_LOG_FLUSH_MS=0),
for comparison. "off" and "on" alternate read by read over the same sample,
so they share the machine's load, and take turns going first; "sync" is
measured in a phase of its own beside "off" again. The ratio is on / off
(target <= 1.2).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from uuid import UUID

from domain.ids import officer_id
from domain.model import Actor
from domain.officers.access import CASE_OPEN, SEARCH, search_detail
from domain.values import Role
from msafiri.bootstrap import build_system, connector
from msafiri.settings import Settings
from projections.access_log.recorder import AccessRecorder
from projections.access_log.service import AccessLogService
from projections.access_log.store import AccessLogStore


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--reads", type=int, default=1000, help="per variant and kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    system = build_system(Settings(database_url=args.database_url), create=False)
    rng = random.Random(args.seed)
    queries = system.read_models.queries
    ids = [r[0] for r in queries.db.fetchall("SELECT migrant_id FROM rm_cases")]
    sample = [UUID(rng.choice(ids)) for _ in range(args.reads)]
    names = [queries.get_case(str(m)).full_name.split()[-1][:4] for m in sample]
    store = AccessLogStore(connector(system.settings, system.database), system.database.backend)
    # What the TUI and the CLI call: record_read, which also asks how the
    # officer holds the case (a grant use is logged as one) - not the bare recorder.
    authz = system.authz
    recorders = {
        "off": None,
        # the default: 200 ms / 100 entries
        "on": AccessLogService(store, AccessRecorder(store), authz, None, queries),
        "sync": AccessLogService(store, AccessRecorder(store, flush_ms=0), authz, None, queries),
    }
    actor = Actor(officer_id=officer_id("demo.attache"), role=Role.LABOUR_ATTACHE)

    def case_open(recorder: AccessLogService | None, n: int) -> None:
        migrant_id = sample[n]
        system.cases.get(migrant_id)
        queries.get_case(str(migrant_id))
        if recorder is not None:
            recorder.record_read("demo.attache", actor, CASE_OPEN, interface="terminal",
                                 subject_kind="case", subject_id=migrant_id)  # fmt: skip

    def search(recorder: AccessLogService | None, n: int) -> None:
        queries.search_cases(names[n], limit=50)
        if recorder is not None:
            recorder.record_read(
                "demo.attache", actor, SEARCH, interface="terminal", detail=search_detail(names[n])
            )

    results: dict[str, dict[str, float]] = {}
    for kind, read in (("case open", case_open), ("case search", search)):
        for n in range(min(50, args.reads)):  # warm the caches for every variant alike
            read(None, n)
        results[kind] = {}
        # Two phases, each alternating "off" with one variant: a synchronous
        # write's fsync must not land in the buffered variant's timings.
        for variant in ("on", "sync"):
            timings: dict[str, list[float]] = {"off": [], variant: []}
            order = [("off", None), (variant, recorders[variant])]
            for n in range(args.reads):
                # Each goes first half of the time: the first to read a case
                # warms the page cache for the other.
                for name, recorder in order[n % 2 :] + order[: n % 2]:
                    started = time.perf_counter()
                    read(recorder, n)
                    timings[name].append(time.perf_counter() - started)
            off, other = p95(timings["off"]), p95(timings[variant])
            results[kind][f"p95_ms_off_beside_{variant}"] = round(off, 3)
            results[kind][f"p95_ms_{variant}"] = round(other, 3)
            results[kind][f"ratio_{variant}_off"] = round(other / off, 3)
    for recorder in recorders.values():
        if recorder is not None:
            recorder.recorder.close()
    cases = queries.count_cases()
    system.close()
    print(json.dumps({"cases": cases, "reads_per_variant": args.reads, **results}, indent=2))


if __name__ == "__main__":
    main()
