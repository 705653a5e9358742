"""eventsourcing's own recorder contract tests, against the recorder
configuration Msafiri builds (our composition root), on both backends."""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading

from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)

from domain.persistence import EventStore
from msafiri.bootstrap import eventsourcing_env
from msafiri.settings import Settings, parse_database_url
from tests import pg_server


@functools.cache
def _server() -> str:
    # Session-wide: a throwaway cluster started here lives as long as the run.
    return pg_server.server_url()[0]


def _join_reader_threads() -> None:
    """eventsourcing's concurrency contract tests set their reader threads'
    stop flag but do not join them. Closing the recorder while one of them is
    still inside select_notifications crashed the interpreter in CI (SIGSEGV
    in sqlite3 on a connection closed under it), so wait for them first."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(timeout=30)


class SQLiteBackend:
    def setUp(self) -> None:
        super().setUp()
        self._dir = tempfile.mkdtemp(prefix="msafiri-contract-")
        self._url = f"sqlite:///{self._dir}/events.db"
        self._stores: list[EventStore] = []

    def tearDown(self) -> None:
        _join_reader_threads()
        for store in self._stores:
            store.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        super().tearDown()

    def create_recorder(self):
        settings = Settings(database_url=self._url)
        store = EventStore(env=eventsourcing_env(settings, parse_database_url(self._url)))
        # Keep the application alive: collecting it closes the recorder's pool.
        self._stores.append(store)
        self._factory = store.factory
        return store.recorder


class PostgreSQLBackend(SQLiteBackend):
    def setUp(self) -> None:
        super(SQLiteBackend, self).setUp()
        self._stores: list[EventStore] = []
        self._url = pg_server.create_database(_server())

    def tearDown(self) -> None:
        _join_reader_threads()
        for store in self._stores:
            store.close()
        pg_server.drop_database(_server(), self._url)
        super(SQLiteBackend, self).tearDown()

    def create_recorder(self):
        settings = Settings(database_url=self._url)
        store = EventStore(env=eventsourcing_env(settings, parse_database_url(self._url)))
        self._stores.append(store)
        self._factory = store.factory
        return store.recorder


class SnapshotRecorder:
    """Msafiri's aggregate recorder is the one snapshots would use."""

    def create_recorder(self):
        recorder = super().create_recorder()
        return self._factory.aggregate_recorder(purpose="snapshots") if recorder else None


class TestSQLiteAggregateRecorder(SnapshotRecorder, SQLiteBackend, AggregateRecorderTestCase):
    pass


class TestSQLiteApplicationRecorder(SQLiteBackend, ApplicationRecorderTestCase):
    pass


class TestSQLiteTrackingRecorder(SQLiteBackend, TrackingRecorderTestCase):
    pass


class TestSQLiteProcessRecorder(SQLiteBackend, ProcessRecorderTestCase):
    pass


class TestPostgreSQLAggregateRecorder(
    SnapshotRecorder, PostgreSQLBackend, AggregateRecorderTestCase
):
    pass


class TestPostgreSQLApplicationRecorder(PostgreSQLBackend, ApplicationRecorderTestCase):
    pass


class TestPostgreSQLTrackingRecorder(PostgreSQLBackend, TrackingRecorderTestCase):
    pass


class TestPostgreSQLProcessRecorder(PostgreSQLBackend, ProcessRecorderTestCase):
    pass


# The abstract bases are collected too if left in the module namespace.
del AggregateRecorderTestCase, ApplicationRecorderTestCase
del TrackingRecorderTestCase, ProcessRecorderTestCase
