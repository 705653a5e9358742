"""Where the publisher is in the log, kept in Msafiri's own database.

The publisher saves a position only after every event up to it was acked by
JetStream, so the saved position never runs ahead of the stream; after a
crash it resumes from here and the server de-duplicates what it re-sends.
The same database keeps the installation's pseudonymisation key, so
pseudonyms stay stable across restarts and machines.

Plain sqlite3/psycopg connections (not the event store's): these rows are
the publisher's, and two tiny tables need no framework.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from datetime import UTC, datetime
from typing import Any

from msafiri.settings import Database

POSITION_TABLE = "nats_publisher_position"
KEY_TABLE = "nats_pseudonym_key"


class PositionStore:
    def __init__(self, database: Database, publisher: str):
        self.database = database
        self.publisher = publisher
        self._connection: Any = None
        self._ensure_tables()

    # -- connection -----------------------------------------------------------

    def _connect(self) -> Any:
        if self._connection is None:
            if self.database.backend == "sqlite":
                self._connection = sqlite3.connect(
                    self.database.path, timeout=10, isolation_level=None, check_same_thread=False
                )
            else:
                import psycopg

                self._connection = psycopg.connect(
                    self.database.conninfo(), autocommit=True, connect_timeout=5
                )
        return self._connection

    def _execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.database.backend == "postgresql":
            sql = sql.replace("?", "%s")
        try:
            return self._run(sql, params)
        except Exception:
            connection = self._connection
            if not (getattr(connection, "closed", False) or getattr(connection, "broken", False)):
                raise
            # The connection died with the server (an outage since it was last
            # used): one more try on a new one. Every statement here may run
            # twice (an upsert, reads, an insert that ignores a conflict).
            self.close()
            return self._run(sql, params)

    def _run(self, sql: str, params: tuple) -> list[tuple]:
        cursor = self._connect().execute(sql, params)
        if cursor.description is None:  # a statement without rows
            return []
        return list(cursor.fetchall())

    def _ensure_tables(self) -> None:
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {POSITION_TABLE} ("
            " publisher TEXT PRIMARY KEY,"
            " position BIGINT NOT NULL,"
            " updated_at TEXT NOT NULL)"
        )
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} (id INTEGER PRIMARY KEY, key TEXT NOT NULL)"
        )

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):  # already broken
                connection.close()

    # -- position -------------------------------------------------------------

    def load(self) -> int:
        rows = self._execute(
            f"SELECT position FROM {POSITION_TABLE} WHERE publisher = ?", (self.publisher,)
        )
        return int(rows[0][0]) if rows else 0

    def save(self, position: int) -> None:
        self._execute(
            f"INSERT INTO {POSITION_TABLE} (publisher, position, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (publisher) DO UPDATE SET position = excluded.position, "
            "updated_at = excluded.updated_at",
            (self.publisher, position, datetime.now(UTC).isoformat()),
        )

    def updated_at(self) -> str | None:
        rows = self._execute(
            f"SELECT updated_at FROM {POSITION_TABLE} WHERE publisher = ?", (self.publisher,)
        )
        return rows[0][0] if rows else None

    # -- pseudonymisation key ---------------------------------------------------

    def pseudonym_key(self) -> bytes:
        # Two publishers starting at once: the first insert wins, both read it.
        self._execute(
            f"INSERT INTO {KEY_TABLE} (id, key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
            (secrets.token_hex(32),),
        )
        return bytes.fromhex(self._execute(f"SELECT key FROM {KEY_TABLE} WHERE id = 1")[0][0])


def publisher_name(stream: str, prefix: str) -> str:
    """One position per (stream, subject prefix): two streams never share one."""
    return f"{stream}/{prefix}"
