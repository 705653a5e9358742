"""A plain connection to the database holding the events *and* the read models.

Read models live beside the events (same SQLite file, same PostgreSQL
database, tables prefixed `rm_`) so one backup holds everything. They are
written through this connection, never through the library's recorders: the
runner needs its own transactions (view rows + tracking position together).

SQL is written once with `?` placeholders; on PostgreSQL they become `%s`.
None of our statements holds a literal `?`, so the rewrite is safe.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings live in tui/, the outer layer
    from msafiri.settings import Database


# Bounded, as the library's own SQLITE_LOCK_TIMEOUT in msafiri/bootstrap.py.
SQLITE_BUSY_TIMEOUT_SECONDS = 10
# SQLite's page cache per connection (default 2 MiB). The read models' keys
# are random UUIDs, so every insert lands on a random btree page: with the
# default cache a rebuild at 100k migrants was bound by page reads (sys time).
SQLITE_CACHE_KIB = 256 * 1024
# Checkpoint the WAL only when it holds this many pages (default 1,000): a
# page's btree pages change in every commit, and with the default they were
# copied into the database file (and fsynced) after every commit. At 100k
# migrants a rebuild went from 8.9k to 14.2k events/s, sys time 45 s -> 18 s.
# While events are written, the event store's connections (default limit)
# checkpoint as before; `checkpoint()` runs after a long catch-up and cuts
# the WAL file back (a journal_size_limit instead cost 15%: the file shrank
# and grew again at every reset).
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 100_000
# Python's SQLite here is built with secure_delete on: every freed page is
# overwritten with zeros, so emptying a read model at 1M migrants wrote
# gigabytes. FAST zeroes only what costs no extra I/O. (The same personal
# data stays in the event log, which read models are built from.)
SQLITE_SECURE_DELETE = "FAST"

# One row's VALUES group of an INSERT, e.g. "VALUES (?, ?, ?)".
_VALUES_GROUP = re.compile(r"VALUES \((\?(?:, \?)*)\)")

# COPY's text format: these characters are escaped, NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.translate(_COPY_ESCAPES)
    if type(value) is bool:
        return "1" if value else "0"
    return str(value)


def copy_text(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows in COPY's text format. psycopg's pure-Python `write_row` costs
    ~20 us a row; this ~2 us: values are joined as they are, and only a row
    whose line shows a tab, newline, CR or backslash of its own is escaped."""
    lines = []
    for row in rows:
        values = [
            v
            if type(v) is str
            else "\\N"
            if v is None
            else str(v)
            if type(v) is int
            else _copy_value(v)
            for v in row
        ]
        line = "\t".join(values)
        if (
            line.count("\t") != len(row) - 1
            or "\n" in line
            or "\r" in line
            or line.count("\\") != row.count(None)
        ):
            line = "\t".join([_copy_value(v) for v in row])
        lines.append(line)
    lines.append("")
    return "\n".join(lines).encode()


class ReadModelDb:
    """One connection (one thread uses it) with the few operations we need."""

    def __init__(
        self,
        database: Database,
        connect_timeout_seconds: int = 3,
        renames: dict[str, str] | None = None,
    ):
        self.database = database
        self.backend = database.backend
        self.connect_timeout_seconds = connect_timeout_seconds
        # A shadow rebuild (projections/shadow.py) writes the projections'
        # own SQL to other tables: every table name in `renames` is replaced
        # as a whole word (`rm_cases` -> `rm_cases__shadow`, never inside
        # `rm_cases_name`). None, the usual case, costs nothing.
        self.renames = dict(renames or {})
        self._renamed = (
            re.compile(r"\b(" + "|".join(re.escape(t) for t in sorted(self.renames)) + r")\b")
            if self.renames
            else None
        )
        self.conn: Any = None
        self._open()
        self._events_table_seen = False

    def _open(self) -> None:
        database = self.database
        if self.backend == "sqlite":
            assert database.path is not None
            self.conn = sqlite3.connect(
                database.sqlite_target(),  # a read-only file is opened read-only
                uri=True,
                timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # we say BEGIN and COMMIT ourselves
                check_same_thread=False,
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self.conn.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
            self.conn.execute(f"PRAGMA secure_delete={SQLITE_SECURE_DELETE}")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.events_table = "stored_events"
            self.notification_id = "rowid"
        else:
            import psycopg

            self.conn = psycopg.connect(
                database.conninfo(), autocommit=True, connect_timeout=self.connect_timeout_seconds
            )
            # A commit need not wait for its WAL flush: if the server itself
            # crashes, the last few hundred ms of commits are lost *whole*
            # (view rows and tracking position together), and the runner
            # applies those pages again. Read models are disposable; the
            # event store keeps its own, synchronous, connection.
            self.conn.execute("SET synchronous_commit TO off")
            self.events_table = "msafiri_events"
            self.notification_id = "notification_id"
            # psycopg's C implementation formats COPY rows faster than we can
            # in Python; its pure-Python one ~10x slower (see copy_text).
            self.copy_rows_in_c = psycopg.pq.__impl__ != "python"
        self.in_transaction = False

    def reconnect(self) -> None:
        """Close the connection (it may have died with the server) and open a
        new one; raises the driver's error while the database is still away."""
        old = self.conn
        self.close()
        try:
            self._open()
        except BaseException:
            # Keep the closed one: using it raises the driver's own error
            # (a transient one on PostgreSQL), never an AttributeError.
            self.conn = old
            raise

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    def name(self, table: str) -> str:
        """The table this connection writes for `table` (see `renames`)."""
        return self.renames.get(table, table)

    def sql(self, statement: str) -> str:
        if self._renamed is not None:
            statement = self._renamed.sub(lambda m: self.renames[m.group(1)], statement)
        return statement.replace("?", "%s") if self.is_postgres else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.sql(statement), params)

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(statement, params).fetchall())

    def fetchone(self, statement: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(statement, params).fetchone()

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows. On PostgreSQL an `INSERT ... VALUES
        (?, ...)` (upserts too) is sent as ONE multi-row INSERT per ~thousand
        rows, not one statement a row: an upsert's rows must then not repeat
        a conflict key (ours never do: they are folded per page)."""
        rows = list(rows)
        if not rows:
            return
        if not self.is_postgres:
            self.conn.executemany(self.sql(statement), rows)
            return
        group = _VALUES_GROUP.search(statement)
        if group is None or not statement.lstrip().upper().startswith("INSERT"):
            with self.conn.cursor() as cursor:
                cursor.executemany(self.sql(statement), rows)
            return
        head, tail = statement[: group.start()], statement[group.end() :]
        values = f"({group.group(1)})"
        chunk = max(1, 30_000 // len(rows[0]))  # PostgreSQL: at most 65,535 parameters
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            text = f"{head}VALUES {', '.join([values] * len(part))}{tail}"
            self.conn.execute(self.sql(text), [value for row in part for value in row])

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Plain inserts of many rows: one COPY on PostgreSQL, one executemany
        on SQLite (both loop in C over the rows)."""
        if not rows:
            return
        table = self.name(table)
        if self.is_postgres:
            with (
                self.conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                if self.copy_rows_in_c:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
                else:
                    copy.write(copy_text(rows))
            return
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def delete_keys(self, table: str, column: str, keys: Sequence[Any]) -> None:
        """DELETE the rows whose `column` is one of `keys`: one statement on
        PostgreSQL (= ANY of one array), one executemany on SQLite."""
        if not keys:
            return
        table = self.name(table)
        if self.is_postgres:
            self.conn.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (list(keys),))
        else:
            self.conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(k,) for k in keys])

    def select_in(self, statement: str, keys: Sequence[Any], chunk: int = 500) -> Iterator[tuple]:
        """Rows of `statement` (which ends `IN ({})`) for many keys. PostgreSQL:
        one `= ANY(array)` statement (one parameter, not one per key); SQLite:
        chunks of `IN (?, ...)` (its parameter limit)."""
        keys = list(keys)
        if not keys:
            return
        if self.is_postgres:
            any_form = statement.replace(" IN ({})", " = ANY(%s)")
            assert any_form != statement, statement
            yield from self.conn.execute(self.sql(any_form), (keys,)).fetchall()
            return
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            marks = ", ".join("?" for _ in part)
            yield from self.execute(statement.format(marks), part).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction. SQLite: BEGIN IMMEDIATE takes the write lock at
        once, so a read-then-write never deadlocks against the event writers."""
        assert not self.in_transaction, "transactions do not nest"
        self.in_transaction = True
        try:
            if self.is_postgres:
                with self.conn.transaction():
                    yield
            else:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    self.conn.execute("COMMIT")
                except BaseException:
                    # Also when COMMIT itself failed (busy, disk I/O): a
                    # transaction left open would refuse the next BEGIN.
                    # A rollback that fails must not hide the real error.
                    with contextlib.suppress(sqlite3.Error):
                        if self.conn.in_transaction:
                            self.conn.execute("ROLLBACK")
                    raise
        finally:
            self.in_transaction = False

    def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file and cut the file back
        to nothing. TRUNCATE waits for writers and readers of older
        snapshots; it is given 0.2 s, not the usual busy timeout, and when
        someone is busy the WAL is simply left for the next checkpoint.
        PostgreSQL: nothing to do."""
        if self.is_postgres:
            return
        self.conn.execute("PRAGMA busy_timeout=200")
        try:
            with contextlib.suppress(sqlite3.OperationalError):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            self.conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")

    def table_exists(self, table: str) -> bool:
        table = self.name(table)
        if self.is_postgres:
            row = self.fetchone("SELECT to_regclass(?)", (table,))
            return bool(row and row[0])
        row = self.fetchone("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
        return row is not None

    def plain_indexes(self, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """(name, table, definition) of every index on `tables` that is not
        unique, exactly as the catalogue holds it: the migrations' own text
        on SQLite (sqlite_master), PostgreSQL's canonical CREATE INDEX
        (pg_indexes). Primary keys and UNIQUE indexes are never listed: the
        projections rely on them."""
        if not tables:
            return []
        tables = [self.name(t) for t in tables]
        if self.is_postgres:
            found = self.conn.execute(
                "SELECT indexname, tablename, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ANY(%s)",
                (list(tables),),
            ).fetchall()
        else:
            marks = ", ".join("?" for _ in tables)
            # sql IS NULL: the indexes SQLite makes itself for PRIMARY KEY/UNIQUE.
            found = self.fetchall(
                "SELECT name, tbl_name, sql FROM sqlite_master "
                f"WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
                tables,
            )
        return sorted(
            (name, table, definition)
            for name, table, definition in found
            if not " ".join(definition.split()).upper().startswith("CREATE UNIQUE")
        )

    def has_events_table(self) -> bool:
        """Whether the event store has made its table yet. Asked of the
        catalogue only until it has: the table is never dropped, and this is
        on every page read and every poll."""
        if not self._events_table_seen:
            self._events_table_seen = self.table_exists(self.events_table)
        return self._events_table_seen

    def max_notification_id(self) -> int:
        if not self.has_events_table():
            return 0
        row = self.fetchone(f"SELECT MAX({self.notification_id}) FROM {self.events_table}")
        return int(row[0] or 0) if row else 0

    def close(self) -> None:
        # Closing a broken connection must not hide the real error.
        with contextlib.suppress(Exception):
            if self.conn is not None:
                self.conn.close()
