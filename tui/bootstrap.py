"""The composition root: builds the configured Msafiri from settings.

Nothing else reads the environment or decides which database to use. The
same services run on the embedded SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from domain.authz import Authoriser
from domain.cases.service import CaseService
from domain.incidents.service import IncidentService
from domain.officers.service import OfficerService
from domain.persistence import EventStore
from tui.settings import ConfigurationError, Database, Settings, parse_database_url


class DatabaseUnavailable(Exception):
    """The database named in the settings cannot be reached; one clear line."""


@dataclass
class System:
    settings: Settings
    database: Database
    store: EventStore
    authz: Authoriser
    officers: OfficerService
    cases: CaseService
    incidents: IncidentService

    def close(self) -> None:
        self.store.close()


def eventsourcing_env(settings: Settings, database: Database) -> dict[str, str]:
    if database.backend == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(database.path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database.dbname,
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": database.password,
        "POSTGRES_CONNECT_TIMEOUT": str(settings.connect_timeout_seconds),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_max_overflow),
        # Off on purpose: its insert takes no table lock, and a reader tailing
        # the log was measured to miss events (FIELD-NOTES.md).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }


def check_reachable(settings: Settings, database: Database) -> None:
    """Fail in one clear line within a few seconds, before the library's pool
    starts retrying in the background."""
    if database.backend == "sqlite":
        assert database.path is not None
        try:
            database.path.parent.mkdir(parents=True, exist_ok=True)
            sqlite3.connect(database.path, timeout=settings.connect_timeout_seconds).close()
        except (OSError, sqlite3.Error) as error:
            raise DatabaseUnavailable(f"cannot open SQLite file {database.path}: {error}") from None
        return
    import psycopg

    try:
        psycopg.connect(
            database.conninfo(), connect_timeout=settings.connect_timeout_seconds
        ).close()
    except psycopg.Error as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(error).__name__
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {database.url}: {reason}"
        ) from None


def build_system(settings: Settings | None = None) -> System:
    settings = settings or Settings()
    database = parse_database_url(settings.database_url)
    check_reachable(settings, database)
    store = EventStore(env=eventsourcing_env(settings, database))
    authz = Authoriser(store)
    return System(
        settings=settings,
        database=database,
        store=store,
        authz=authz,
        officers=OfficerService(store, authz),
        cases=CaseService(store, authz),
        incidents=IncidentService(store, authz),
    )


__all__ = ["ConfigurationError", "DatabaseUnavailable", "System", "build_system"]
