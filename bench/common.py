"""What the benchmarks share: a throwaway PostgreSQL database per run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from msafiri.settings import parse_database_url
from projections.schema import upgrade
from tests import pg_server


@contextmanager
def postgres_database(server_settings: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh, upgraded database on the test server (or a throwaway cluster),
    dropped after. With `server_settings`, always on a throwaway cluster of
    its own started with them (e.g. more connections than the shared server)."""
    if server_settings is not None:
        cluster = pg_server.ThrowawayCluster(settings=server_settings)
        server = cluster.url
    else:
        server, cluster = pg_server.server_url()
    url = pg_server.create_database(server)
    upgrade(parse_database_url(url))  # what `msafiri db upgrade` does
    try:
        yield url
    finally:
        pg_server.drop_database(server, url)
        if cluster:
            cluster.stop()
