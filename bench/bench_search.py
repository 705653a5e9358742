"""p95 latency of case search on the cases read model.

    # 1,000,000 migrants (the issue's target; ~8.5M events, long on 2 cores):
    MSAFIRI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/msafiri_1m \
        uv run msafiri demo --migrants 1000000
    MSAFIRI_DATABASE_URL=... uv run msafiri db upgrade
    MSAFIRI_DATABASE_URL=... uv run msafiri projections rebuild
    uv run python -m bench.bench_search --database-url postgresql://...msafiri_1m --queries 2000

Queries are what officers type, made from real rows picked at random: a full
name, a surname prefix, a first name, a case number, a national id, a phone
as dialled locally (07..), a 2-letter prefix with a stage filter, and an
empty search with the open-incidents filter; each asks for the first page
of 50 and half of them also for the next page.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from collections import defaultdict

from msafiri.settings import Settings, parse_database_url
from projections.readmodels import ReadModels


def sample_cases(models: ReadModels, n: int, rng: random.Random) -> list:
    q = models.queries
    cols = "migrant_id"
    out = []
    while len(out) < n:
        start = str(uuid.UUID(int=rng.getrandbits(128)))
        row = q.db.fetchone(
            f"SELECT {cols} FROM rm_cases WHERE migrant_id > ? ORDER BY migrant_id LIMIT 1",
            (start,),
        )
        if row:
            out.append(q.get_case(row[0]))
    return out


def searches(case, rng: random.Random) -> list[tuple[str, dict]]:
    first, *_, last = case.full_name.split()
    local_phone = "0" + case.phone.removeprefix("+254")
    return [
        ("full name", {"text": case.full_name}),
        ("surname prefix", {"text": last[: rng.randint(3, 5)]}),
        ("first name", {"text": first}),
        ("case number", {"text": case.case_number}),
        ("national id", {"text": case.national_id or case.passport_number or ""}),
        ("phone 07..", {"text": local_phone[:7]}),
        ("2 letters + stage", {"text": last[:2], "stage": case.stage}),
        ("open incidents", {"text": "", "open_incidents": True}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    settings = Settings(database_url=args.database_url)
    models = ReadModels(settings, parse_database_url(args.database_url))
    q = models.queries
    cases_total = q.count_cases()
    picked = sample_cases(models, max(1, args.queries // 8), rng)
    timings: dict[str, list[float]] = defaultdict(list)
    for case in picked:
        for kind, params in searches(case, rng):
            started = time.perf_counter()
            page = q.search_cases(**params, limit=50)
            timings[kind].append((time.perf_counter() - started) * 1000)
            if page.after and rng.random() < 0.5:
                started = time.perf_counter()
                q.search_cases(**params, limit=50, after=page.after)
                timings[f"{kind} (next page)"].append((time.perf_counter() - started) * 1000)

    def p(values: list[float], pct: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(len(values) * pct))], 2)

    everything = [t for ts in timings.values() for t in ts]
    result = {
        "backend": models.database.backend,
        "cases": cases_total,
        "queries": len(everything),
        "p50_ms": p(everything, 0.50),
        "p95_ms": p(everything, 0.95),
        "p99_ms": p(everything, 0.99),
        "mean_ms": round(statistics.fmean(everything), 2),
        "by_kind_p95_ms": {kind: p(ts, 0.95) for kind, ts in sorted(timings.items())},
    }
    print(json.dumps(result, indent=2))
    models.close()


if __name__ == "__main__":
    main()
