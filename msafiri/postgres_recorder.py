"""The event store's PostgreSQL recorder, creating its tables without
writing ERROR lines into the server's log.

The library's `create_table()` runs at every start: it probes the tracking
table with a SELECT (an ERROR while the table does not exist yet) and runs
CREATE TYPE, which has no IF NOT EXISTS (an ERROR whenever the type exists:
at every start after the first). Monitoring that watches the server log for
ERROR lines then cries wolf at every CLI command. This recorder asks the
catalogue first (to_regclass / to_regtype never raise) and does only what
is missing; what it creates is exactly what the library would.
Selected by `PROCESS_RECORDER_TOPIC` in msafiri/bootstrap.py.

It also serialises decisions per key (`serialised`, used through
`EventStore.serialised` for the fund's book): a transaction-scoped advisory
lock, and every save made in the block written in that same transaction, so
the lock is released exactly when what its holder decided is committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresProcessRecorder

# The connection whose transaction holds an advisory lock in this thread.
# A context variable: every thread (officer) starts without one.
_held: ContextVar[Any] = ContextVar("msafiri_advisory_lock_connection", default=None)


def advisory_key(key: UUID) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, from the key's UUID
    (its first 8 bytes: UUIDs from uuid5 are uniformly spread)."""
    return int.from_bytes(key.bytes[:8], "big", signed=True)


class QuietPostgresProcessRecorder(PostgresProcessRecorder):
    @contextmanager
    def serialised(self, key: UUID) -> Iterator[None]:
        """Hold `key` for the block: waiters queue in the server's lock
        manager (first come, first served) and nobody gives up. Saves in the
        block go into this transaction; it commits when the block ends
        normally, releasing the lock. Reads in the block use other
        connections of the pool, which see what earlier holders committed."""
        held = _held.get()
        if held is not None:
            if held[0] != key:  # one key per block: two could deadlock
                raise RuntimeError(f"{held[0]} is held in this thread; cannot take {key}")
            yield  # a command run from inside another holds it already
            return
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(key),))
            token = _held.set((key, conn))
            try:
                yield
            finally:
                _held.reset(token)

    def select_events_after(self, after: dict[UUID, int]) -> list[StoredEvent]:
        """The events of several aggregates after the version known of each
        (0 for one not yet seen), in one query: a money decision brings
        everything it read before waiting for the fund up to date in one
        round trip once it holds the fund (ledger/service.py `Unit.catch_up`).
        Run in the lock's transaction when this thread holds one (each
        statement sees what earlier holders committed), else on a pooled
        connection."""
        if not after:
            return []
        query = self.events_after_query()
        params = ([_uuid(key) for key in after], list(after.values()))
        held = _held.get()
        connection = nullcontext(held[1]) if held is not None else self.datastore.get_connection()
        with connection as conn, conn.cursor() as curs:
            curs.execute(query, params)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def events_after_query(self) -> str:
        """`select_events_after`'s statement: (ids, versions) as two arrays."""
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        # Driven by the ids: a primary-key range scan per id (LATERAL, and
        # OFFSET 0 so the planner cannot flatten it back into a join). As a
        # plain join it could be planned as a hash join over the whole log
        # while the log grows faster than its statistics (`msafiri demo`:
        # 17.7 ms a call at 20k migrants, growing with the log; 0.5 ms a get).
        return (
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%b::uuid[], %b::bigint[]) AS k(id, after) "
            "CROSS JOIN LATERAL ("
            f"SELECT * FROM {table} t WHERE t.originator_id = k.id "
            "AND t.originator_version > k.after OFFSET 0) e "
            "ORDER BY e.originator_id, e.originator_version"
        )

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        held = _held.get()
        if held is None:
            return super().insert_events(stored_events, **kwargs)
        conn = held[1]
        # Inside the lock's transaction, under a savepoint, so a conflict rolls
        # back this save only (on success the commit releases it). The library's
        # own insert takes the table lock and notifies exactly as here
        # (`_insert_events` writes the tracking row). Sent as one pipeline -
        # savepoint, tracking, lock, NOTIFY, INSERT - and read back at once:
        # the other officers wait on the fund meanwhile, and each round trip
        # is time they wait (one instead of six).
        try:
            with conn.pipeline() as pipeline, conn.cursor() as curs:
                curs.execute("SAVEPOINT msafiri_save")
                self._insert_events(curs, stored_events, **kwargs)
                if not stored_events:
                    return None
                self._insert_stored_events(curs, stored_events, **kwargs)
                pipeline.sync()
                return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        except psycopg.IntegrityError as error:
            conn.execute("ROLLBACK TO SAVEPOINT msafiri_save")
            raise IntegrityError(str(error)) from error

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """The library's insert (table lock, NOTIFY, one INSERT of the rows
        in order, RETURNING their notification ids), with the rows sent as
        four arrays in binary (`%b`) instead of one array of the composite type,
        which psycopg formats as text in Python (escaping every state's
        bytes): a registry import spent a third of its time there."""
        self._lock_table(curs)
        self._notify_channel(curs)
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        curs.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id",
            (
                [_uuid(e.originator_id) for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    def create_table(self) -> None:
        found = _what_exists(self, self.tracking_table_name)
        if found["tracking"]:
            # The library's probe, which succeeds now that the table exists.
            self.tracking_migration_current = self.tracking_migration_previous = (
                self.max_tracking_id(self.table_migration_identifier)
            )
            self.tracking_table_exists = True
            if found["type"] and found["events"] and self.tracking_migration_previous:
                # Everything is there (tables and their indexes are created
                # in one transaction): nothing to run.
                self.datastore.register_type_adapters()
                return
        _create_what_is_missing(self, type_exists=found["type"])


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


class QuietPostgresAggregateRecorder(PostgresAggregateRecorder):
    """The snapshot table's recorder, created as quietly as the log's."""

    def create_table(self) -> None:
        found = _what_exists(self)
        if found["type"] and found["events"]:
            self.datastore.register_type_adapters()
            return
        _create_what_is_missing(self, type_exists=found["type"])


def _what_exists(recorder: PostgresAggregateRecorder, tracking_table: str | None = None) -> dict:
    """Whether the stored-event type, the events table and (when named) the
    tracking table exist: one query, no DDL, so nothing reaches the server log."""
    schema = recorder.datastore.schema
    names = [
        f"{schema}.{recorder.stored_event_type_name}",
        f"{schema}.{recorder.events_table_name}",
    ]
    tracking = "to_regclass(%s) IS NOT NULL" if tracking_table else "false"
    if tracking_table:
        names.append(f"{schema}.{tracking_table}")
    with recorder.datastore.get_connection() as conn:
        found = conn.execute(
            "SELECT to_regtype(%s) IS NOT NULL AS type, to_regclass(%s) IS NOT NULL AS events,"
            f" {tracking} AS tracking",
            names,
        ).fetchone()
    assert found is not None
    return found


def _create_what_is_missing(recorder: PostgresAggregateRecorder, *, type_exists: bool) -> None:
    """The library's CREATE TYPE (only when missing: it errors otherwise), then
    CREATE TABLE/INDEX IF NOT EXISTS and the tracking table's migration row,
    exactly as the library does."""
    if not type_exists:
        for statement in recorder.sql_create_statements:
            if "CREATE TYPE" in statement.as_string():
                with recorder.datastore.transaction(commit=True) as curs:
                    curs.execute(statement, prepare=False)
    with recorder.datastore.transaction(commit=True) as curs:
        recorder._create_table(curs)
    recorder.datastore.register_type_adapters()
