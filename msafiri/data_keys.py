"""The per-migrant data key table: keys made, read, and destroyed.

Each key is 32 random bytes (AES-256-GCM, `cryptography`), stored wrapped by
the master keyring (domain/sealing.py: the same row-bound seal as events,
bound here to the key's ref and its migrant). A migrant's case events are
sealed under a key whose ref is the migrant's id; an incident's and a fund
request's under their own ref, belonging to the same migrant, so erasing
the migrant destroys every key whose `subject` is that migrant.

Destroying is deleting the rows - the key table is not the event log - with
the bytes overwritten where the database allows it: SQLite with
`secure_delete` on and the WAL checkpointed and truncated; PostgreSQL with
the table vacuumed (docs/encryption.md says what that does not reach).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.sealing import EventForged, Keyring, new_key
from domain.values import utcnow
from projections.outage import CONNECTION, classify

_TOPIC = "msafiri:data-key:"
_CHUNK = 400  # refs per IN (...) list
# Keys kept in memory at most. An AESGCM object holds ~2.5 KB of native
# memory (measured): with two or three keys a migrant, `msafiri demo` at a million
# migrants (or a rebuild reading them all) would have kept ~5-7 GB. Beyond
# this many the oldest tenth are dropped; one read again is one query.
MAX_CACHED_KEYS = 100_000


class SqlDataKeys:
    """DataKeys (domain/personal.py) over the database's `data_keys` table.

    Keys are cached in memory once read. A process that started before an
    erasure keeps the keys it had read until it is restarted (docs).

    On PostgreSQL, reads have a connection (and lock) of their own: a money
    decision's key read - one short query - then waits only for other reads,
    not behind a registration's key made in four queries and a commit
    (measured in the fifty-officers burst: ~1.9 s of waits for the one lock,
    single waits up to 240 ms). SQLite keeps one connection."""

    def __init__(self, connect: Callable[[], Any], backend: str, keyring: Keyring):
        self._connect_fn = connect
        self._backend = backend
        self._keyring = keyring
        self._cache: dict[str, AESGCM | None] = {}
        self._limit: int | None = None  # None: MAX_CACHED_KEYS
        self._lock = threading.RLock()
        self._conn: Any = None
        self._read_lock = threading.RLock() if backend != "sqlite" else self._lock
        self._read_conn: Any = None
        self._evict_lock = threading.Lock()

    def _remember(self, key_ref: str, aead: AESGCM | None) -> None:
        cache = self._cache
        cache[key_ref] = aead
        limit = MAX_CACHED_KEYS if self._limit is None else self._limit
        if len(cache) > limit:
            # A lock of its own: readers call this holding the read lock, and
            # the write lock is only ever taken before the read lock.
            with self._evict_lock:
                # Insertion order: the first are the longest held.
                for ref in list(cache)[: max(1, limit // 10)]:
                    cache.pop(ref, None)

    @contextmanager
    def cached_at_most(self, keys: int) -> Iterator[None]:
        """Keep at most `keys` keys in memory inside: for a writer that
        touches each migrant's keys only for a while, once (`msafiri demo`
        seals a chunk's events at once: a cache of every key it made was
        ~2.5 KB a key, ~6 KB a migrant, up to MAX_CACHED_KEYS)."""
        before = self._limit
        self._limit = keys
        try:
            with self._evict_lock:
                for ref in list(self._cache)[: max(0, len(self._cache) - keys)]:
                    self._cache.pop(ref, None)
            yield
        finally:
            self._limit = before

    # -- connection --------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text if self._backend == "sqlite" else text.replace("?", "%s")

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect_fn()
            if self._backend == "sqlite":
                # Deleted keys are overwritten, not merely unlinked.
                self._conn.execute("PRAGMA secure_delete = ON")
        return self._conn

    def _reading(self, read: bool) -> bool:
        """Whether a statement goes to the read connection."""
        return read and self._backend != "sqlite"

    def _query(self, text: str, params: tuple = (), read: bool = False) -> list[tuple]:
        reading = self._reading(read)
        with self._read_lock if reading else self._lock:
            while True:
                kept = (self._read_conn if reading else self._conn) is not None
                if reading:
                    if self._read_conn is None:
                        self._read_conn = self._connect_fn()
                    conn = self._read_conn
                else:
                    conn = self._connection()
                try:
                    rows = conn.execute(self._sql(text), params).fetchall()
                    if self._backend != "sqlite":
                        conn.commit()
                    return rows
                except Exception as error:
                    if reading:
                        self._close_reader()
                    else:
                        self.close()
                    # A connection kept since before a database outage fails
                    # once when next used, though the server is back: one
                    # more try on a new one (every statement here may run
                    # twice). A worker would otherwise see a second outage.
                    if not (kept and classify(error) == CONNECTION):
                        raise

    def close(self) -> None:
        self._drop(self._lock, "_conn")
        self._close_reader()

    def _close_reader(self) -> None:
        self._drop(self._read_lock, "_read_conn")

    def _drop(self, lock: threading.RLock, name: str) -> None:
        """Close the connection kept in attribute `name` (under its lock); the
        next statement opens a new one."""
        with lock:
            conn = getattr(self, name)
            setattr(self, name, None)
            if conn is not None:
                conn.close()

    # -- wrap / unwrap -------------------------------------------------------

    def _wrap(self, key: bytes, key_ref: str, subject: str) -> bytes:
        return self._keyring.seal(key, UUID(key_ref), 0, _TOPIC + subject)

    def _unwrap(self, wrapped: bytes, key_ref: str, subject: str) -> AESGCM:
        return AESGCM(self._keyring.open(bytes(wrapped), UUID(key_ref), 0, _TOPIC + subject))

    # -- DataKeys ------------------------------------------------------------

    def _load(self, key_ref: str) -> AESGCM | None:
        rows = self._query(
            "SELECT subject, wrapped FROM data_keys WHERE key_ref = ?", (key_ref,), read=True
        )
        if not rows:
            return None
        subject, wrapped = rows[0]
        try:
            return self._unwrap(wrapped, key_ref, subject)
        except EventForged:
            # A key row written without the master key (or moved to another
            # ref) opens nothing: what it sealed reads as erased.
            return None

    def for_reading(self, key_ref: str) -> AESGCM | None:
        try:
            return self._cache[key_ref]
        except KeyError:
            pass
        aead = self._load(key_ref)
        self._remember(key_ref, aead)
        return aead

    def load_many(self, refs: set[str]) -> None:
        """Read the keys of these refs not yet cached, a few hundred a query
        (the projections' decoder, before a page of events: a rebuild then
        costs a query per page, not one per person). A ref without a key is
        cached as None, as `for_reading` does."""
        with self._read_lock:
            todo = [ref for ref in refs if ref not in self._cache]
            for start in range(0, len(todo), _CHUNK):
                part = todo[start : start + _CHUNK]
                marks = ", ".join("?" * len(part))
                rows = self._query(
                    f"SELECT key_ref, subject, wrapped FROM data_keys WHERE key_ref IN ({marks})",
                    tuple(part),
                    read=True,
                )
                found = {key_ref: (subject, wrapped) for key_ref, subject, wrapped in rows}
                for ref in part:
                    if ref not in found:
                        self._remember(ref, None)
                        continue
                    subject, wrapped = found[ref]
                    try:
                        self._remember(ref, self._unwrap(wrapped, ref, subject))
                    except EventForged:
                        self._remember(ref, None)

    def _erased(self, key_ref: str, subject: str | None) -> bool:
        rows = self._query(
            "SELECT 1 FROM data_key_erasures WHERE key_ref = ? OR subject = ? LIMIT 1",
            (key_ref, subject or key_ref),
            read=True,
        )
        return bool(rows)

    def for_writing(self, key_ref: str, subject: str | None) -> AESGCM | None:
        """The key to seal under: the existing one, or a new one stored now
        (when the event names its migrant). For an erased person, a key that
        is never stored: whatever is written about them reads as erased.
        None for a record made before per-migrant keys whose event does not
        name its migrant (its fields stay under the master key, as before)."""
        aead = self._cache.get(key_ref)
        if aead is not None:
            return aead
        aead = self._load(key_ref)
        if aead is None and self._erased(key_ref, subject):
            return AESGCM(new_key())  # forgotten at once: erased on arrival
        if aead is None and subject is not None:
            aead = self._create(key_ref, subject)
        if aead is not None:
            self._remember(key_ref, aead)
        return aead

    def prepare(self, wanted: dict[str, str | None]) -> None:
        """Have the keys that sealing a batch of events will ask for (key ref
        -> its migrant, None when the event does not name one) in memory, in
        a few queries for the whole batch: the existing ones read, the
        missing ones made in ONE transaction. An import of 4,000 members made
        its keys one by one at ~4 queries and a commit each, ~80% of its
        time. What `for_writing` would refuse or treat specially (an erased
        person, a record without its migrant) is left to it."""
        with self._lock:
            missing = {
                ref: subject for ref, subject in wanted.items() if self._cache.get(ref) is None
            }
            if not missing:
                return
            found = self._load_many(list(missing))
            absent = {ref: s for ref, s in missing.items() if ref not in found and s is not None}
            if absent:
                erased = self._erased_many(absent)
                new = {ref: s for ref, s in absent.items() if ref not in erased and s not in erased}
                if new:
                    made = self._create_many(new)
                    found.update(made)
                    # Made by another process meanwhile: use the one stored.
                    found.update(self._load_many([ref for ref in new if ref not in made]))
            for ref, aead in found.items():
                if aead is not None:
                    self._remember(ref, aead)

    def _chunks(self, items: list) -> list[list]:
        return [items[start : start + 500] for start in range(0, len(items), 500)]

    def _in(self, column: str, values: list) -> tuple[str, tuple]:
        """`column IN (...)` (SQLite) / `column = ANY(%s)` (PostgreSQL)."""
        if self._backend == "sqlite":
            return f"{column} IN ({', '.join('?' for _ in values)})", tuple(values)
        return f"{column} = ANY(?)", (list(values),)

    def _load_many(self, refs: list[str]) -> dict[str, AESGCM | None]:
        found: dict[str, AESGCM | None] = {}
        for part in self._chunks(refs):
            where, params = self._in("key_ref", part)
            for ref, subject, wrapped in self._query(
                f"SELECT key_ref, subject, wrapped FROM data_keys WHERE {where}", params, read=True
            ):
                try:
                    found[ref] = self._unwrap(wrapped, ref, subject)
                except EventForged:
                    found[ref] = None  # as `_load`: it opens nothing
        return found

    def _erased_many(self, wanted: dict[str, str | None]) -> set[str]:
        """The refs and subjects among `wanted` that were erased."""
        names = sorted({*wanted, *(s for s in wanted.values() if s is not None)})
        erased: set[str] = set()
        for part in self._chunks(names):
            by_ref, params = self._in("key_ref", part)
            by_subject, more = self._in("subject", part)
            for ref, subject in self._query(
                f"SELECT key_ref, subject FROM data_key_erasures WHERE {by_ref} OR {by_subject}",
                params + more,
                read=True,
            ):
                erased.update((ref, subject))
        return erased

    def _create_many(self, new: dict[str, str]) -> dict[str, AESGCM]:
        """Store a new key for each ref in one transaction; the keys this call
        stored (a ref another process stored first keeps that one)."""
        now = utcnow().isoformat()
        keys = {ref: new_key() for ref in new}
        rows = [
            (ref, subject, self._wrap(keys[ref], ref, subject), now) for ref, subject in new.items()
        ]
        conn = self._connection()
        try:
            if self._backend == "sqlite":
                # Under the write lock nobody else can add one meanwhile.
                conn.execute("BEGIN IMMEDIATE")
                there: set[str] = set()
                for part in self._chunks(list(new)):
                    where, params = self._in("key_ref", part)
                    there.update(
                        r[0]
                        for r in conn.execute(
                            f"SELECT key_ref FROM data_keys WHERE {where}", params
                        )
                    )
                rows = [row for row in rows if row[0] not in there]
                conn.executemany(
                    "INSERT INTO data_keys (key_ref, subject, wrapped, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
                made = [row[0] for row in rows]
            else:
                columns = [list(column) for column in zip(*rows, strict=True)]
                # Binary arrays (%b): as text, psycopg escapes every wrapped
                # key's bytes in Python (as the event recorder found).
                made = [
                    r[0]
                    for r in conn.execute(
                        "INSERT INTO data_keys (key_ref, subject, wrapped, created_at) "
                        "SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[], %b::text[]) "
                        "ON CONFLICT (key_ref) DO NOTHING RETURNING key_ref",
                        columns,
                    ).fetchall()
                ]
                conn.commit()
        except Exception:
            # As `_query`: a broken connection is closed, the next use opens one.
            if self._backend == "sqlite" and conn.in_transaction:
                conn.execute("ROLLBACK")
            self.close()
            raise
        return {ref: AESGCM(keys[ref]) for ref in made}

    def _create(self, key_ref: str, subject: str) -> AESGCM:
        key = new_key()
        self._query(
            "INSERT INTO data_keys (key_ref, subject, wrapped, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key_ref) DO NOTHING RETURNING key_ref",
            (key_ref, subject, self._wrap(key, key_ref, subject), utcnow().isoformat()),
        )
        # Another process may have made it first: use the one stored.
        aead = self._load(key_ref)
        assert aead is not None, key_ref
        return aead

    # -- erasure ---------------------------------------------------------------

    def refs_of(self, subject: str) -> list[str]:
        rows = self._query("SELECT key_ref FROM data_keys WHERE subject = ?", (subject,))
        return [row[0] for row in rows]

    def destroyed_refs(self, subject: str) -> list[str]:
        """The refs of `subject`'s keys already destroyed (an erasure done)."""
        rows = self._query("SELECT key_ref FROM data_key_erasures WHERE subject = ?", (subject,))
        return [row[0] for row in rows]

    def is_erased(self, subject: str) -> bool:
        return self._erased(subject, subject)

    def destroy(self, subject: str) -> int:
        """Delete every key of `subject` (and remember that they were), then
        make the deleted bytes unrecoverable from the database files where
        the database allows it. Returns how many keys were destroyed."""
        now = utcnow().isoformat()
        # Both locks (write, then read: the one order): no read in this process
        # caches a key between its deletion and its being forgotten.
        with self._lock, self._read_lock:
            conn = self._connection()
            try:
                if self._backend == "sqlite":
                    conn.execute("BEGIN IMMEDIATE")
                refs = [
                    row[0]
                    for row in conn.execute(
                        self._sql("SELECT key_ref FROM data_keys WHERE subject = ?"), (subject,)
                    ).fetchall()
                ]
                for ref in {*refs, subject}:
                    conn.execute(
                        self._sql(
                            "INSERT INTO data_key_erasures (key_ref, subject, erased_at) "
                            "VALUES (?, ?, ?) ON CONFLICT (key_ref) DO NOTHING"
                        ),
                        (ref, subject, now),
                    )
                conn.execute(self._sql("DELETE FROM data_keys WHERE subject = ?"), (subject,))
                conn.commit() if self._backend != "sqlite" else conn.execute("COMMIT")
            except Exception:
                if self._backend == "sqlite":
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                else:
                    conn.rollback()
                raise
            for ref in {*refs, subject}:
                self._remember(ref, None)
        return len(refs)

    def forget_cached(self) -> None:
        self._cache.clear()


def wipe_sqlite(connect: Callable[[], Any]) -> tuple[int, int, int]:
    """After a SQLite erasure: copy the WAL into the database file and cut
    the WAL to zero bytes, so old page images holding the erased bytes are
    gone from it. Returns SQLite's (busy, log pages, checkpointed pages);
    busy is 1 when another connection's read kept it from finishing."""
    conn = connect()
    try:
        return tuple(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())  # type: ignore[return-value]
    finally:
        conn.close()


def vacuum_postgres(connect: Callable[[], Any], tables: list[str]) -> None:
    """After a PostgreSQL erasure: VACUUM the tables whose rows were deleted
    or rewritten, so the dead row versions' space is marked for reuse (not
    zeroed: docs/encryption.md)."""
    conn = connect()
    try:
        conn.autocommit = True
        for table in tables:
            conn.execute(f"VACUUM {table}")
    finally:
        conn.close()


__all__ = ["SqlDataKeys", "vacuum_postgres", "wipe_sqlite"]
