"""The read models' schema, kept by yoyo-migrations from `migrations/`.

SQLite (one user, embedded) is brought up to date automatically. On
PostgreSQL schema changes are an operator's decision: other commands refuse
with one line naming `msafiri db upgrade` while the schema is behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings live in tui/, the outer layer
    from tui.settings import Database


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaBehind(Exception):
    """The read models' schema is older than this code; one clear line."""


def yoyo_url(database: Database) -> str:
    if database.backend == "sqlite":
        return f"sqlite:///{database.path}"
    from urllib.parse import quote

    auth = quote(database.user, safe="")
    if database.password:
        auth += ":" + quote(database.password, safe="")
    return f"postgresql+psycopg://{auth}@{database.host}:{database.port}/{database.dbname}"


def _migrations():
    from yoyo import read_migrations
    from yoyo.migrations import MigrationList

    found = read_migrations(str(MIGRATIONS_DIR))
    # migrations/__init__.py makes the folder a package; it is no migration.
    return MigrationList([m for m in found if not m.id.startswith("__")], found.post_apply)


def pending_migrations(database: Database) -> list[str]:
    from yoyo import get_backend

    backend = get_backend(yoyo_url(database))
    try:
        return [m.id for m in backend.to_apply(_migrations())]
    finally:
        backend.connection.close()


def upgrade(database: Database) -> list[str]:
    """Apply every pending migration (under yoyo's lock); returns their ids."""
    from yoyo import get_backend

    backend = get_backend(yoyo_url(database))
    try:
        with backend.lock():
            todo = backend.to_apply(_migrations())
            backend.apply_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()


def ensure_schema(database: Database) -> None:
    """Call from the composition root before using the read models.

    SQLite: upgrades in place. PostgreSQL: raises SchemaBehind (one line) when
    a migration is pending.
    """
    if database.backend == "sqlite":
        if pending_migrations(database):
            upgrade(database)
        return
    pending = pending_migrations(database)
    if pending:
        raise SchemaBehind(
            f"the read-model schema of {database.url} is behind ({len(pending)} migration(s) "
            "pending): run `msafiri db upgrade`"
        )
