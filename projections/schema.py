"""The read models' schema, kept by yoyo-migrations from `migrations/`.

SQLite (one user, embedded) is brought up to date automatically. On
PostgreSQL schema changes are an operator's decision: other commands refuse
with one line naming `msafiri db upgrade` while the schema is behind.

A migration that creates (or empties) a projection's tables also sets that
projection back to the log's start in `rm_tracking`, in the same
transaction, so the runner rebuilds it (tests/test_migrations.py rolls back
and re-applies every migration and compares with a clean rebuild).

yoyo is driven without its start-up probes: `get_backend()` creates its lock
table with a bare CREATE TABLE (an ERROR in PostgreSQL's server log at every
start once it exists) and a scratch table it then drops twice (another
ERROR), and its lock is a row it retries for 10 s, then advises
`yoyo break-lock` - on a read-only or corrupt file too. Here the applied
migrations are read with a plain query, and `upgrade` holds a lock of the
database's own (an advisory lock on PostgreSQL; on SQLite the caller's).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings live in msafiri/, the outer layer
    from msafiri.settings import Database


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATIONS_TABLE = "_yoyo_migration"
# Any constant: the same in every Msafiri process ("MSAU"; the event store's is "MSAF").
_UPGRADE_LOCK_KEY = 0x4D534155


class SchemaBehind(Exception):
    """The read models' schema is older than this code; one clear line."""


class SchemaUnavailable(Exception):
    """The schema cannot be read or changed (connection, permissions, not a
    database); one clear line."""


def yoyo_url(database: Database, connect_timeout_seconds: int = 3) -> str:
    if database.backend == "sqlite":
        return f"sqlite:///{database.path}"
    from urllib.parse import quote

    auth = quote(database.user, safe="")
    if database.password:
        auth += ":" + quote(database.password, safe="")
    return (
        f"postgresql+psycopg://{auth}@{database.host}:{database.port}/{database.dbname}"
        f"?connect_timeout={connect_timeout_seconds}"
    )


def _migrations():
    from yoyo import read_migrations
    from yoyo.migrations import MigrationList

    found = read_migrations(str(MIGRATIONS_DIR))
    # migrations/__init__.py makes the folder a package; it is no migration.
    return MigrationList([m for m in found if not m.id.startswith("__")], found.post_apply)


def migration_ids() -> list[str]:
    """Every migration in migrations/, oldest first."""
    return [m.id for m in _migrations()]


def _connect(database: Database, connect_timeout_seconds: int) -> Any:
    if database.backend == "sqlite":
        return sqlite3.connect(database.sqlite_target(), uri=True, timeout=10)
    import psycopg

    return psycopg.connect(
        database.conninfo(), autocommit=True, connect_timeout=connect_timeout_seconds
    )


def _applied_hashes(conn: Any, backend: str) -> set[str]:
    """yoyo's record of applied migrations, read without yoyo (and without
    querying a table that may not exist: that too is an ERROR line)."""
    if backend == "sqlite":
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
        ).fetchone()
    else:
        exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()[0]
    if not exists:
        return set()
    return {row[0] for row in conn.execute(f"SELECT migration_hash FROM {MIGRATIONS_TABLE}")}


def migration_hashes() -> dict[str, str]:
    """Each migration's id and the hash yoyo records for it once applied
    (sha256 of the id), read from the folder without importing yoyo: every
    command checks that nothing is pending, and yoyo with its migrations
    costs a fresh process ~15-30 ms it would use for nothing else
    (tests/test_migrations.py checks these agree with yoyo's own)."""
    ids = sorted(
        path.name.removesuffix(".sql").removesuffix(".py")
        for path in MIGRATIONS_DIR.iterdir()
        if path.suffix in (".py", ".sql")
        and not path.name.endswith(".rollback.sql")
        and not path.name.startswith("__")
    )
    return {id_: hashlib.sha256(id_.encode("utf-8")).hexdigest() for id_ in ids}


def pending_migrations(database: Database, connect_timeout_seconds: int = 3) -> list[str]:
    conn = _connect(database, connect_timeout_seconds)
    try:
        applied = _applied_hashes(conn, database.backend)
    finally:
        conn.close()
    return [id_ for id_, hash_ in migration_hashes().items() if hash_ not in applied]


def _backend(database: Database, connect_timeout_seconds: int):
    """A yoyo backend without `get_backend()`'s probes (see the module's doc).
    Both backends roll DDL back with the transaction, which is what the
    probe would have found out."""
    from yoyo.backends import get_backend_class
    from yoyo.connections import parse_uri

    url = parse_uri(yoyo_url(database, connect_timeout_seconds))
    backend = get_backend_class(url.scheme.lower())(url, "_yoyo_migration")
    backend.has_transactional_ddl = True
    return backend


@contextmanager
def _upgrade_lock(backend, database: Database) -> Iterator[None]:
    """One upgrade at a time. yoyo's own lock is replaced (`_is_locked`):
    on PostgreSQL by a session advisory lock on yoyo's connection; on SQLite
    the caller holds the composition root's lock file (a write transaction
    would also serialise, but yoyo commits between migrations)."""
    if database.backend == "postgresql":
        backend.connection.execute("SELECT pg_advisory_lock(%s)", (_UPGRADE_LOCK_KEY,))
    backend._is_locked = True
    try:
        yield
    finally:
        backend._is_locked = False
        if database.backend == "postgresql":
            backend.connection.execute("SELECT pg_advisory_unlock(%s)", (_UPGRADE_LOCK_KEY,))


def upgrade(database: Database, connect_timeout_seconds: int = 3) -> list[str]:
    """Apply every pending migration; returns their ids. On SQLite the
    caller holds the lock that serialises schema changes (msafiri/bootstrap.py)."""
    if database.read_only:
        raise SchemaUnavailable(
            f"{database.url} is read-only: its read-model schema cannot be upgraded"
        )
    backend = _backend(database, connect_timeout_seconds)
    try:
        with _upgrade_lock(backend, database):
            todo = backend.to_apply(_migrations())
            backend.apply_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()


def dependents(migration_ids: list[str]) -> list[str]:
    """The migrations named and every migration that depends on them,
    directly or not (what a rollback of them must take with it)."""
    migrations = _migrations()
    wanted = set(migration_ids)
    changed = True
    while changed:
        changed = False
        for m in migrations:
            if m.id not in wanted and {d.id for d in m.depends} & wanted:
                wanted.add(m.id)
                changed = True
    return [m.id for m in migrations if m.id in wanted]


def rollback(
    database: Database, migration_ids: list[str], connect_timeout_seconds: int = 3
) -> list[str]:
    """Roll back the named migrations and their dependents (newest first);
    returns the ids rolled back. The projections whose tables come back
    with a later `upgrade` are rebuilt from the log's start."""
    backend = _backend(database, connect_timeout_seconds)
    try:
        with _upgrade_lock(backend, database):
            from yoyo.migrations import MigrationList

            wanted = set(dependents(migration_ids))
            migrations = _migrations()
            chosen = MigrationList([m for m in migrations if m.id in wanted], migrations.post_apply)
            todo = backend.to_rollback(chosen)
            backend.rollback_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()


def ensure_schema(database: Database, connect_timeout_seconds: int = 3) -> None:
    """Call from the composition root before using the read models.

    SQLite: upgrades in place (the caller holds the schema lock). PostgreSQL,
    or a read-only SQLite file: raises SchemaBehind (one line) when a
    migration is pending.
    """
    pending = pending_migrations(database, connect_timeout_seconds)
    if not pending:
        return
    if database.backend == "sqlite" and not database.read_only:
        upgrade(database, connect_timeout_seconds)
        return
    fix = (
        "open it once with write access (or run `msafiri db upgrade`)"
        if database.backend == "sqlite"
        else "run `msafiri db upgrade`"
    )
    raise SchemaBehind(
        f"the read-model schema of {database.url} is behind ({len(pending)} migration(s) "
        f"pending): {fix}"
    )
