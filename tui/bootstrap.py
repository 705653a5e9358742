"""The composition root: builds the configured Msafiri from settings.

Nothing else reads the environment or decides which database to use. The
same services run on the embedded SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain.authz import Authoriser
from domain.cases.service import CaseService
from domain.incidents.service import IncidentService
from domain.officers.service import OfficerService
from domain.persistence import EventStore
from ledger.process import FundProcess
from ledger.service import LedgerService
from projections import open_read_models
from projections.audit.store import AuditStore
from projections.readmodels import ReadModels
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
    ledger: LedgerService
    fund_process: FundProcess
    audit: AuditStore
    read_models: ReadModels

    def keep_current(self) -> None:
        """Bring every follower of the log up to date: the fund process (which
        may write), then the read models and the audit chain. CLI commands
        that write call it before they exit, so a single user on SQLite never
        has to start a worker."""
        self.fund_process.run_once()
        self.read_models.catch_up()
        self.audit.keep_up()

    def close(self) -> None:
        self.read_models.close()
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


def connector(settings: Settings, database: Database) -> Callable[[], Any]:
    """Plain DB-API connections to the event store's database, for the read
    side (audit chain, read models): sqlite3 in explicit-transaction mode, or
    psycopg."""
    if database.backend == "sqlite":
        path, timeout = database.path, settings.connect_timeout_seconds * 5
        return lambda: sqlite3.connect(path, timeout=timeout, isolation_level=None)
    import psycopg

    conninfo, timeout = database.conninfo(), settings.connect_timeout_seconds
    return lambda: psycopg.connect(conninfo, connect_timeout=timeout)


def audit_store(settings: Settings, database: Database) -> AuditStore:
    key_file = settings.audit_signing_key_file
    minutes = settings.audit_checkpoint_minutes

    def sign(record: dict[str, Any]) -> str:
        # Imported here: the crypto library is only loaded when a key is set.
        from projections.audit import signing

        assert key_file is not None
        return signing.sign(record, key_file)

    return AuditStore(
        connector(settings, database),
        database.backend,
        checkpoint_every=timedelta(minutes=minutes) if minutes else None,
        sign=sign if key_file else None,
        checkpoint_file=settings.audit_checkpoint_file,
    )


# Any constant: it only has to be the same in every Msafiri process.
_SCHEMA_LOCK_KEY = 0x4D534146  # "MSAF"


@contextmanager
def schema_creation_lock(settings: Settings, database: Database) -> Iterator[None]:
    """Serialise the event store's CREATE ... IF NOT EXISTS statements across
    processes. PostgreSQL answers two sessions replacing the same catalogue
    row at once (the recorder always runs CREATE OR REPLACE FUNCTION) with
    "tuple concurrently updated", so a TUI, the projection runner and a
    second officer's TUI starting together on a fresh database would crash.
    On SQLite the recorder's one-off tracking-table migration races the same
    way (IntegrityError on its "__migration__" row), so there a lock file
    beside the database does the same job."""
    if database.backend == "sqlite":
        import fcntl

        assert database.path is not None
        with open(database.path.with_name(database.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    import psycopg

    with psycopg.connect(
        database.conninfo(), connect_timeout=settings.connect_timeout_seconds, autocommit=True
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))


def build_system(settings: Settings | None = None) -> System:
    settings = settings or Settings()
    database = parse_database_url(settings.database_url)
    check_reachable(settings, database)
    # Everything that may create or upgrade tables happens under one lock.
    with schema_creation_lock(settings, database):
        store = EventStore(env=eventsourcing_env(settings, database))
        authz = Authoriser(store)
        ledger = LedgerService(store, authz, settings.fund_code)
        fund_process = FundProcess(store, ledger)
        audit = audit_store(settings, database)
        # SQLite: the read-model schema is brought up to date here; PostgreSQL:
        # SchemaBehind (one line naming `msafiri db upgrade`) when it is behind.
        read_models = open_read_models(settings, database, store)
    read_models.companions = [fund_process.run_once, audit.keep_up]
    return System(
        settings=settings,
        database=database,
        store=store,
        authz=authz,
        officers=OfficerService(store, authz),
        cases=CaseService(store, authz),
        incidents=IncidentService(store, authz),
        ledger=ledger,
        fund_process=fund_process,
        audit=audit,
        read_models=read_models,
    )


__all__ = ["ConfigurationError", "DatabaseUnavailable", "System", "build_system"]
