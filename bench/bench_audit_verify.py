"""`msafiri audit verify` speed beside a raw read of the same rows.

    uv run python -m bench.bench_audit_verify --migrants 5000 [--backend postgresql|sqlite|both]
    uv run python -m bench.bench_audit_verify --whole --migrants 2000,4000,8000 --backend postgresql
    uv run python -m bench.bench_audit_verify --whole --migrants 5000 --backend sqlite --repeat 2
    uv run python -m bench.bench_audit_verify --whole --database-url URL --repeat 3

`--database-url` times an existing database (e.g. one grown by `msafiri demo` and
`msafiri demo --add`, so the sizes of a growth table cost one demo, not three).

Fills a fresh database with the demo population (and the fund), chains it, then times:
- raw: a keyset-paged SELECT of every stored event row (position, id, version,
  topic, state) with plain sqlite3/psycopg, touching each row;
- verify (default): the same read of the events plus the chain table,
  recomputing every SHA-256 link and comparing it with the stored one;
- `--whole`: the whole `msafiri audit verify` command, in process - the chain
  walk with every row authenticated and counted, the read models' counts,
  the book and its snapshots, the fund's balances, a sample of 200 cases
  against a replay, the access log's chain; `--full` adds every read model
  rebuilt from the log and compared (the nightly check).
The ratio is raw time over verify time, in the same run (chain target >= 0.5x;
whole command: >= 0.2x and the same, within 20%, at every size - linear).
`--repeat N` times the raw read and the verify N times on the same database
(one line each, with the load average then): the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from bench.common import postgres_database
from msafiri.bootstrap import build_system
from msafiri.cli.main import cli
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from msafiri.settings import Settings
from projections.audit.chain import verify


def measure(
    url: str, migrants: int | None, whole: bool, full: bool, repeat: int
) -> Iterator[tuple[int, float, float]]:
    """With `migrants`, fill the (empty) database first; without, time it as it is."""
    system = build_system(Settings(database_url=url))
    if migrants is not None:
        populate_with_fund(system, ensure_demo_officers(system), migrants, seed=3)
    system.keep_current()
    audit = system.audit
    audit.extend_chain()
    events = audit.max_position()
    os.environ["MSAFIRI_DATABASE_URL"] = url
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            total = 0
            for row in audit.rows():
                total += len(row.state)
            raw = time.perf_counter() - started
            started = time.perf_counter()
            if whole:
                outcome = CliRunner().invoke(
                    cli, ["audit", "verify", *(["--full"] if full else [])]
                )
                assert outcome.exit_code == 0, outcome.output
            else:
                assert verify(audit.rows(), audit.chain()).ok
            ours = time.perf_counter() - started
            yield events, raw, ours
    finally:
        system.close()


def count_migrants(url: str) -> int:
    system = build_system(Settings(database_url=url))
    try:
        return system.read_models.queries.count_cases()
    finally:
        system.close()


def report(backend: str, migrants: int, events: int, raw: float, ours: float) -> None:
    load = os.getloadavg()[0]
    print(
        f"| {backend} | {migrants:,} | {events:,} | {ours:.2f} | {raw:.2f} "
        f"| {events / ours:,.0f} | {events / raw:,.0f} | {raw / ours:.2f}x | {load:.1f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrants", default="5000", help="a size, or sizes: 2000,4000,8000")
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--whole", action="store_true", help="time `msafiri audit verify`")
    parser.add_argument("--full", action="store_true", help="with --whole: `verify --full`")
    parser.add_argument("--repeat", type=int, default=1, help="time it N times on each database")
    parser.add_argument("--database-url", help="time this existing database as it is")
    args = parser.parse_args()
    sizes = [int(size) for size in args.migrants.split(",")]
    print(
        "| backend | migrants | events | verify s | raw SELECT s | verify events/s "
        "| raw events/s | ratio | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    if args.database_url:
        backend = "SQLite" if args.database_url.startswith("sqlite") else "PostgreSQL"
        migrants = count_migrants(args.database_url)
        for figures in measure(args.database_url, None, args.whole, args.full, args.repeat):
            report(backend, migrants, *figures)
        return
    for migrants in sizes:
        if args.backend in ("postgresql", "both"):
            with postgres_database() as url:
                for figures in measure(url, migrants, args.whole, args.full, args.repeat):
                    report("PostgreSQL", migrants, *figures)
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                for figures in measure(url, migrants, args.whole, args.full, args.repeat):
                    report("SQLite", migrants, *figures)


if __name__ == "__main__":
    main()
