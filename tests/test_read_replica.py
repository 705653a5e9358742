"""Reads from a streaming replica (MSAFIRI_READ_DATABASE_URL; issue 17 item 7).

A local primary and a streaming replica of it (pg_basebackup -R), each a
throwaway cluster on its own port: the system writes on the primary, its
case search and the fund desk's queue read the replica once it has replayed
the writes, and right after this process writes (replay paused), it reads
its own write from the primary. Both clusters are stopped and removed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from domain.viewer import NOBODY
from msafiri.bootstrap import build_system
from msafiri.settings import ConfigurationError, Settings, parse_database_url
from projections.schema import upgrade
from tests import pg_server
from tests.conftest import Officers
from tests.fund_helpers import incident_abroad, open_fund, request

REPLAY_WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[pg_server.ThrowawayCluster, pg_server.ThrowawayCluster]]:
    primary = pg_server.ThrowawayCluster()
    try:
        replica = pg_server.ThrowawayCluster(standby_of=primary)
    except BaseException:
        primary.stop()
        raise
    try:
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


def in_recovery(db) -> bool:
    return bool(db.fetchone("SELECT pg_is_in_recovery()")[0])


def wait_for_replay(system) -> None:
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while system.read_models.replica_lag().bytes_behind != 0:
        assert time.monotonic() < deadline, "the replica did not replay the primary's WAL"
        time.sleep(0.05)


@pytest.mark.slow
def test_reads_go_to_the_replica_and_own_writes_to_the_primary(clusters, tmp_path):
    primary, replica = clusters
    url = pg_server.create_database(primary.url)
    upgrade(parse_database_url(url))
    replica_url = pg_server.with_dbname(replica.url, url.rsplit("/", 1)[1])
    settings = Settings(database_url=url, read_database_url=replica_url)
    system = build_system(settings)
    try:
        assert system.read_database is not None
        officers = Officers(system)
        open_fund(system, officers)
        migrant_id, incident_id = incident_abroad(system, officers, full_name="Akinyi Odhiambo")
        request(system, officers.attache, migrant_id, incident_id, 25_000)
        system.keep_current()
        wait_for_replay(system)
        queries = system.read_models.queries

        # Case search and the fund desk's queue, on the replica.
        assert in_recovery(queries.db)
        found = queries.search_cases("akinyi").rows
        assert [r.full_name for r in found] == ["Akinyi Odhiambo"]
        queue = queries.approval_queue(limit=50, viewer=NOBODY).rows
        assert [r.migrant_id for r in queue] == [str(migrant_id)]
        assert system.read_models.replica_lag().events_behind == 0

        # Replay paused: this process's own write is read from the primary.
        with psycopg.connect(replica_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            try:
                second, _ = incident_abroad(
                    system,
                    officers,
                    full_name="Baraka Wekesa",
                    national_id="29876543",
                    passport_number="AK7654321",
                )
                system.keep_current()
                assert not in_recovery(queries.db)
                assert [r.full_name for r in queries.search_cases("baraka").rows] == [
                    "Baraka Wekesa"
                ]
                lag = system.read_models.replica_lag()
                assert lag.events_behind > 0 and lag.bytes_behind > 0
                assert "events" in lag.describe()
                # Another process (no write of its own) reads the replica as it is.
                other = build_system(settings)
                try:
                    assert in_recovery(other.read_models.queries.db)
                    assert other.read_models.queries.search_cases("baraka").rows == []
                finally:
                    other.close()
            finally:
                conn.execute("SELECT pg_wal_replay_resume()")
        wait_for_replay(system)
        assert in_recovery(queries.db)  # replayed past the write: back on the replica
        assert [r.migrant_id for r in queries.search_cases("baraka").rows] == [str(second)]
    finally:
        system.close()

    # `msafiri status` names the replica and its lag.
    from msafiri.cli.main import cli

    result = CliRunner().invoke(
        cli,
        ["status"],
        env={"MSAFIRI_DATABASE_URL": url, "MSAFIRI_READ_DATABASE_URL": replica_url},
    )
    assert result.exit_code == 0, result.output
    assert "reads from" in result.output and "replica lag" in result.output
    assert f":{replica.port}/" in result.output


def test_a_replica_needs_postgresql(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        read_database_url="postgresql://postgres@127.0.0.1:5432/msafiri",
    )
    with pytest.raises(ConfigurationError, match="MSAFIRI_READ_DATABASE_URL"):
        build_system(settings)
