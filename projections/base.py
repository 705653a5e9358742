"""What every projection is: a name, the tables it owns, and a batch apply.

A projection applies a whole page of records at once (load the rows the page
touches, change them in memory, write them back in a few statements); the
runner wraps that and the tracking update in one transaction. Projections
never write to the event store and never call aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import ClassVar

from projections.db import ReadModelDb
from projections.log import Record


class Projection:
    name: ClassVar[str]
    # Tables emptied by a rebuild, children before parents.
    tables: ClassVar[tuple[str, ...]]
    # Event class names this projection reads; others are skipped cheaply.
    types: ClassVar[frozenset[str]]
    # Set by a shadow build only (never by a live runner): the projection may
    # skip per-page upkeep that one set-based statement does better once the
    # build is at the head - `settle()` does it there. The shadow tables are
    # not read by anyone until the swap, and a build that dies is started
    # over, so nothing ever reads what was deferred.
    deferring: bool = False
    # Relative work of this projection in a rebuild (decoding its events
    # included), to split a shadow build across processes evenly; measured
    # by bench/profile_rebuild.py --detail on a 20k-migrant demo.
    rebuild_weight: ClassVar[float] = 1.0

    def settle(self, db: ReadModelDb) -> None:
        """Do what was deferred while `deferring` (inside a transaction, at the
        shadow's head, before its query-only indexes are built)."""

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        """Apply records (already filtered to `types`, in log order) inside the
        runner's transaction. Raise on an event it cannot apply."""
        raise NotImplementedError

    def clear(self, db: ReadModelDb) -> None:
        for table in self.tables:
            if db.is_postgres:
                db.execute(f"TRUNCATE {table}")
            else:
                db.execute(f"DELETE FROM {table}")


def ts(text: str | None) -> str | None:
    """A JSON time from pydantic ('...:58Z' or '...:58.25Z') as fixed-width
    text ('...:58.250000Z') so it sorts chronologically as text."""
    if text is None:
        return None
    size = len(text)
    if size == 27 and text[26] == "Z":
        return text
    if size == 20 and text[19] == "Z":  # whole seconds
        return f"{text[:19]}.000000Z"
    body = text[:-1] if text.endswith("Z") else text.removesuffix("+00:00")
    whole, _, fraction = body.partition(".")
    return f"{whole}.{fraction.ljust(6, '0')[:6]}Z"


def upsert_sql(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """INSERT ... ON CONFLICT DO UPDATE: the same text on SQLite and PostgreSQL."""
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


class RowCache:
    """Rows of one table by key, loaded once per page, written back at its end.

    It knows which keys exist in the table (`stored`: found by a load), so
    the page's writes are plain bulk statements: new rows are inserted (COPY
    on PostgreSQL), stored rows that changed are replaced (PostgreSQL: one
    DELETE = ANY + the same COPY; SQLite: upsert), removed rows deleted. A key
    put without being loaded is new by construction (its aggregate's first
    event is in this page); if it is not, the insert fails loudly and the
    runner stops the projection at that event.
    """

    def __init__(self, db: ReadModelDb, table: str, columns: Sequence[str], key: str):
        self.db, self.table, self.columns, self.key = db, table, tuple(columns), key
        # A row dict as the table's tuple, in C.
        self.as_tuple = itemgetter(*self.columns) if len(self.columns) > 1 else None
        self.rows: dict[str, dict] = {}
        self.stored: set[str] = set()
        self.dirty: set[str] = set()
        self.deleted: set[str] = set()

    def _select(self, column: str, values: list) -> None:
        statement = f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE {column} IN ({{}})"
        columns = self.columns
        for row in self.db.select_in(statement, values):
            key = row[0]
            if key not in self.rows and key not in self.deleted:
                self.rows[key] = dict(zip(columns, row, strict=True))
            self.stored.add(key)

    def load(self, keys: set[str]) -> None:
        assert self.columns[0] == self.key, "the key is the first column"
        self._select(self.key, [k for k in keys if k not in self.rows and k not in self.deleted])

    def load_where(self, column: str, values: set[str]) -> None:
        """Also load the rows whose `column` is one of `values`."""
        self._select(column, sorted(values))

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def put(self, key: str, row: dict) -> dict:
        self.rows[key] = row
        self.dirty.add(key)
        self.deleted.discard(key)
        return row

    def touch(self, key: str) -> None:
        self.dirty.add(key)

    def delete(self, key: str) -> None:
        self.rows.pop(key, None)
        self.dirty.discard(key)
        self.deleted.add(key)

    def flush(self) -> None:
        db, columns, rows = self.db, self.columns, self.rows
        as_tuple = self.as_tuple or (lambda row: (row[columns[0]],))
        gone = sorted(self.deleted & self.stored)
        changed = sorted(self.dirty & self.stored)
        new = sorted(self.dirty - self.stored)
        if db.is_postgres:
            db.delete_keys(self.table, self.key, gone + changed)
            db.insert_many(self.table, columns, [as_tuple(rows[k]) for k in changed + new])
        else:
            db.delete_keys(self.table, self.key, gone)
            db.executemany(
                upsert_sql(self.table, columns, (self.key,)),
                [as_tuple(rows[k]) for k in changed],
            )
            db.insert_many(self.table, columns, [as_tuple(rows[k]) for k in new])
        self.stored.update(self.dirty)
        self.stored.difference_update(self.deleted)
        self.dirty.clear()
        self.deleted.clear()
