"""`msafiri audit verify` speed beside a raw read of the same rows.

    uv run python -m bench.bench_audit_verify --migrants 5000 [--backend postgresql|sqlite|both]

Fills a fresh database with the demo population, chains it, then times:
- raw: a keyset-paged SELECT of every stored event row (position, id, version,
  topic, state) with plain sqlite3/psycopg, touching each row;
- verify: the same read of the events plus the chain table, recomputing every
  SHA-256 link and comparing it with the stored one.
The ratio is verify events/s over raw events/s, in the same run (target >= 0.5x).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import postgres_database
from projections.audit.chain import verify
from tui.bootstrap import build_system
from tui.demo.officers import ensure_demo_officers
from tui.demo.population import populate
from tui.settings import Settings


def measure(url: str, migrants: int) -> tuple[int, float, float]:
    system = build_system(Settings(database_url=url))
    populate(system.store, ensure_demo_officers(system), migrants, seed=3)
    audit = system.audit
    audit.extend_chain()
    started = time.perf_counter()
    total = 0
    for row in audit.rows():
        total += len(row.state)
    raw = time.perf_counter() - started
    started = time.perf_counter()
    result = verify(audit.rows(), audit.chain())
    ours = time.perf_counter() - started
    assert result.ok
    system.close()
    return result.checked, raw, ours


def report(backend: str, events: int, raw: float, ours: float) -> None:
    print(
        f"| {backend} | {events:,} | {events / ours:,.0f} | {events / raw:,.0f} "
        f"| {raw / ours:.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrants", type=int, default=5000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    args = parser.parse_args()
    print("| backend | events | verify events/s | raw SELECT events/s | ratio |")
    print("|---|---|---|---|---|")
    if args.backend in ("postgresql", "both"):
        with postgres_database() as url:
            report("PostgreSQL", *measure(url, args.migrants))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            report("SQLite", *measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.migrants))


if __name__ == "__main__":
    main()
