"""Shadow rebuild throughput beside a plain rebuild of the same log, same run.

    uv run python -m bench.bench_shadow_rebuild --migrants 3000

A fresh PostgreSQL database (on the tests' server) gets N demo migrants with
the fund; then, twice, a plain `rebuild()` of every read model and a
`rebuild_shadow()` (build in shadow tables, swap, catch up, ANALYZE) are
timed. The ratio is shadow events/s over plain events/s.
"""

from __future__ import annotations

import argparse
import time

from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from msafiri.settings import Settings, parse_database_url
from projections.readmodels import ReadModels
from projections.schema import upgrade
from tests import pg_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--migrants", type=int, default=3000)
    args = parser.parse_args()
    server, cluster = pg_server.server_url()
    url = pg_server.create_database(server)
    try:
        upgrade(parse_database_url(url))
        settings = Settings(database_url=url)
        system = build_system(settings)
        populate_with_fund(system, ensure_demo_officers(system), args.migrants, seed=1, workers=0)
        models = ReadModels(settings, system.database, system.store)
        models.catch_up()
        for _ in range(2):
            began = time.perf_counter()
            plain = models.rebuild() / (time.perf_counter() - began)
            began = time.perf_counter()
            shadow = models.rebuild_shadow() / (time.perf_counter() - began)
            print(
                f"plain {plain:,.0f} events/s  shadow {shadow:,.0f} events/s  "
                f"ratio {shadow / plain:.2f}x",
                flush=True,
            )
        models.close()
        system.close()
    finally:
        pg_server.drop_database(server, url)
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
