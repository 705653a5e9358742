"""The last resort of tests/pg_server.py: a throwaway cluster from the
installed PostgreSQL binaries (as the postgres user when run as root)."""

from __future__ import annotations

import psycopg

from tests.pg_server import ThrowawayCluster


def test_a_throwaway_cluster_starts_answers_and_is_removed():
    cluster = ThrowawayCluster()
    try:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
    finally:
        cluster.stop()
    assert cluster.process.poll() is not None
