"""The composition root: builds the configured Msafiri from settings.

Nothing else reads the environment or decides which database to use. The
same services run on the embedded SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from domain.authz import Authoriser
from domain.persistence import EventStore
from domain.sealing import Keyring
from ledger.service import LedgerService
from msafiri.keys import open_keyring
from msafiri.settings import ConfigurationError, Database, Settings, parse_database_url
from projections import open_read_models
from projections.audit.authenticity import authenticator
from projections.audit.store import AuditStore
from projections.readmodels import ReadModels

if TYPE_CHECKING:
    from domain.access.service import AccessService
    from domain.cases.service import CaseService
    from domain.claims.service import ClaimService
    from domain.coverage.service import CoverageService
    from domain.employers.service import EmployerService
    from domain.incidents.service import IncidentService
    from domain.officers.service import OfficerService
    from ledger.process import FundProcess
    from projections.access_log.service import AccessLogService


class DatabaseUnavailable(Exception):
    """The database named in the settings cannot be reached or used; one clear
    line with the cause and the fix."""


Service = TypeVar("Service")


class service(Generic[Service]):
    """A System's service, made on first use and kept. Unlike cached_property
    (which lost its lock in Python 3.12) two threads asking at once get one
    service: the TUI reads from worker threads, and a second access-log
    recorder made by a race would hold reads that are never flushed."""

    def __init__(self, make: Callable[[Any], Service]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    def __get__(self, system: Any, owner: type | None = None) -> Service:
        if system is None:
            return self  # type: ignore[return-value]
        made = system.__dict__
        if self.name not in made:
            with system._making:  # re-entrant: access_log asks for access
                if self.name not in made:
                    made[self.name] = self.make(system)
        return made[self.name]


@dataclass
class System:
    """What a process works with. The database, the event store, the fund's
    book and the read models are opened when it is built (a wrong setting or
    a schema behind fails at once); each other service is made the first time
    it is asked for, with its module, so a command pays only for the services
    it uses (`msafiri fund balances` loads no case, incident or employer code:
    issue 17, item 1)."""

    settings: Settings
    database: Database
    store: EventStore
    authz: Authoriser
    ledger: LedgerService
    audit: AuditStore
    read_models: ReadModels
    # The streaming replica the read models' queries read (None: the primary).
    read_database: Database | None = None
    _making: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    @service
    def fund_process(self) -> FundProcess:
        from ledger.process import FundProcess

        return FundProcess(self.store, self.ledger)

    @service
    def officers(self) -> OfficerService:
        return officer_service(
            self.settings, self.database, self.store, self.authz, self.access_log
        )

    @service
    def cases(self) -> CaseService:
        from domain.cases.service import CaseService

        return CaseService(self.store, self.authz)

    @service
    def incidents(self) -> IncidentService:
        from domain.incidents.service import IncidentService

        return IncidentService(self.store, self.authz)

    @service
    def access(self) -> AccessService:
        """Need-to-know grants and break-glass (docs/privacy.md)."""
        from domain.access.service import AccessService

        return AccessService(self.store, self.authz)

    @service
    def access_log(self) -> AccessLogService:
        """Reads recorded, chained (issue 14, docs/privacy.md)."""
        return access_log_service(
            self.settings, self.database, self.authz, self.access, self.read_models.queries
        )

    @service
    def employers(self) -> EmployerService:
        """Employer and agency registries, watchlist (issue 16)."""
        from domain.employers.service import EmployerService

        return EmployerService(self.store, self.authz)

    @service
    def claims(self) -> ClaimService:
        """Money claims (issue 16)."""
        from domain.claims.service import ClaimService

        return ClaimService(self.store, self.authz)

    @service
    def coverage(self) -> CoverageService:
        """Social-protection coverage and agreements (issue 16)."""
        from domain.coverage.service import CoverageService

        return CoverageService(self.store, self.authz)

    def run_fund_process(self) -> None:
        """One pass of the fund process (made on the first): a companion of
        the read models' runner, named in its log when it fails."""
        self.fund_process.run_once()

    def keep_current(self) -> None:
        """Bring every follower of the log up to date: the fund process (which
        may write), then the read models and the audit chain. CLI commands
        that write call it before they exit, so a single user on SQLite never
        has to start a worker."""
        self.fund_process.run_once()
        self.read_models.catch_up()
        self.audit.keep_up()

    def close(self) -> None:
        if "access_log" in self.__dict__:  # made, so it may hold an unflushed tail
            self.access_log.recorder.close()
        self.read_models.close()
        if self.store.mapper.data_keys is not None:
            self.store.mapper.data_keys.close()
        self.store.close()


def eventsourcing_env(settings: Settings, database: Database) -> dict[str, str]:
    if database.backend == "sqlite":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": database.sqlite_target(),  # the library opens it with uri=True
            "SQLITE_LOCK_TIMEOUT": "10",
        }
        if database.read_only:
            env["CREATE_TABLE"] = "n"  # nothing may be created; reads still work
        return env
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
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(settings.idle_in_transaction_seconds),
        # Off on purpose: its insert takes no table lock, and a reader tailing
        # the log was measured to miss events (FIELD-NOTES.md).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        # Creates only what is missing, without ERROR lines in the server log.
        "PROCESS_RECORDER_TOPIC": "msafiri.postgres_recorder:QuietPostgresProcessRecorder",
    }


def book_snapshots(store: EventStore, database: Database) -> Any:
    """The library's snapshot table beside the event log, through the store's
    own mapper (sealed alike): the fund's book is loaded from its latest
    snapshot (ledger/snapshot.py). PostgreSQL: `msafiri_snapshots`, created
    quietly like the log; SQLite: `stored_snapshots`."""
    from eventsourcing.persistence import EventStore as Snapshots

    if database.backend == "sqlite":
        recorder = store.factory.aggregate_recorder(purpose="snapshots")
    else:
        from msafiri.postgres_recorder import QuietPostgresAggregateRecorder

        recorder = QuietPostgresAggregateRecorder(
            datastore=store.factory.datastore,  # type: ignore[attr-defined]
            events_table_name=f"{store.name}_snapshots",
        )
        recorder.create_table()
    return Snapshots(mapper=store.mapper, recorder=recorder)


# Commands that may create a new SQLite database; the others refuse a
# missing file (a mistyped path must not become an empty database).
CREATE_HINT = "create it with `msafiri db upgrade` or `msafiri demo`"


def check_reachable(settings: Settings, database: Database, create: bool = True) -> Database:
    """Fail in one clear line within a few seconds, before the library's pool
    starts retrying in the background. Returns the database as it is to be
    opened (SQLite: `read_only` when the file or its folder may not be written)."""
    if database.backend == "sqlite":
        return check_sqlite_file(settings, database, create)
    import psycopg

    try:
        psycopg.connect(
            database.conninfo(), connect_timeout=settings.connect_timeout_seconds
        ).close()
    except psycopg.Error as error:
        raise DatabaseUnavailable(postgres_problem(database, error)) from None
    return database


def postgres_problem(database: Database, error: BaseException) -> str:
    """The server's whole message on one line (psycopg's is several: one per
    address tried, hints on their own lines), and what to do about it."""
    reason = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    reason = reason or type(error).__name__
    if "does not exist" in reason and "database" in reason:
        fix = f"create it with `createdb {database.dbname}`, then run `msafiri db upgrade`"
    elif "password" in reason or "authentication" in reason:
        fix = "check the user and password in MSAFIRI_DATABASE_URL"
    elif "too many" in reason or "connection slots" in reason:
        # max_connections, or this user's CONNECTION LIMIT: nothing is wrong with
        # the command or the settings; the server is full for the moment.
        fix = (
            "the server has no free connection: try again in a moment; operators, raise "
            "max_connections (about 10 per Msafiri process: docs/operations.md, Connections)"
        )
    else:
        fix = "check that PostgreSQL is running there and MSAFIRI_DATABASE_URL is right"
    return f"cannot connect to PostgreSQL at {database.url}: {reason} ({fix})"


def check_sqlite_file(settings: Settings, database: Database, create: bool) -> Database:
    path = database.path
    assert path is not None
    if not path.exists():
        if not create:
            raise DatabaseUnavailable(f"no Msafiri database at {path}; {CREATE_HINT}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(
                f"cannot create the folder of {path}: {error.strerror} "
                "(choose a writable place in MSAFIRI_DATABASE_URL)"
            ) from None
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise DatabaseUnavailable(
                f"cannot create {path}: its folder is read-only "
                "(choose a writable place in MSAFIRI_DATABASE_URL)"
            )
    elif not path.is_file():
        raise DatabaseUnavailable(
            f"{path} is not a file, so it cannot be an Msafiri database "
            "(point MSAFIRI_DATABASE_URL at the database file)"
        )
    else:
        # SQLite writes the file and, beside it, its -wal and -shm files.
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
        database = dataclasses.replace(database, read_only=not writable)
    try:
        conn = sqlite3.connect(
            database.sqlite_target(), uri=True, timeout=settings.connect_timeout_seconds
        )
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise DatabaseUnavailable(sqlite_problem(database, error)) from None
    return database


def sqlite_problem(database: Database, error: BaseException) -> str:
    """One line for what SQLite (or the file system under it) said."""
    text = str(error)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return (
            f"{database.path} is not an Msafiri database ({text}): point MSAFIRI_DATABASE_URL "
            "at the database file, or restore it from a backup"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return (
            f"{database.path} is read-only ({text}): this command writes; give this user "
            "write access to the file and its folder, or use a command that only reads"
        )
    if "disk is full" in lowered or getattr(error, "errno", None) == errno.ENOSPC:
        return (
            f"the disk holding {database.path} is full ({text}): free some space and run "
            "the command again (what was not committed was rolled back)"
        )
    if "locked" in lowered:
        return (
            f"{database.path} is locked by another process ({text}): wait for it to "
            "finish and try again"
        )
    return (
        f"cannot use the SQLite database {database.path}: {text} "
        "(check the file, its folder and MSAFIRI_DATABASE_URL)"
    )


def database_problem(database: Database | None, error: BaseException) -> str | None:
    """One line for an error the database raised while a command ran (None
    when `error` is not the database's)."""
    error = _driver_error(error)
    if isinstance(error, sqlite3.Error):
        if database is None or database.backend != "sqlite":
            return f"SQLite: {error}"
        return sqlite_problem(database, error)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = f" holding {database.path}" if database and database.path else ""
        return f"the disk{where} is full ({error.strerror}): free some space and try again"
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if isinstance(error, psycopg.Error):
        reason = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        if database is not None and database.backend == "postgresql":
            if isinstance(error, psycopg.OperationalError):
                return postgres_problem(database, error)
            return f"PostgreSQL at {database.url} refused: {reason}"
        return f"PostgreSQL: {reason}"
    if type(error).__module__.startswith("psycopg") and database is not None:
        return postgres_problem(database, error)  # e.g. the pool's timeout
    from eventsourcing.persistence import PersistenceError

    if isinstance(error, PersistenceError) and database is not None:
        # The library's own error, with no driver error behind it.
        if database.backend == "sqlite":
            return sqlite_problem(database, error)
        return postgres_problem(database, error)
    return None


def _driver_error(error: BaseException) -> BaseException:
    """The sqlite3/psycopg error behind the library's wrapper, if any: the
    event store re-raises the driver's errors as its own classes."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sqlite3.Error) or type(seen).__module__.startswith("psycopg"):
            return seen
        seen = seen.__cause__ or seen.__context__
    return error


def connector(settings: Settings, database: Database) -> Callable[[], Any]:
    """Plain DB-API connections to the event store's database, for the read
    side (audit chain, read models): sqlite3 in explicit-transaction mode, or
    psycopg."""
    if database.backend == "sqlite":
        target, timeout = database.sqlite_target(), settings.connect_timeout_seconds * 5
        return lambda: sqlite3.connect(target, uri=True, timeout=timeout, isolation_level=None)
    import psycopg

    conninfo, timeout = database.conninfo(), settings.connect_timeout_seconds
    return lambda: psycopg.connect(conninfo, connect_timeout=timeout)


def data_keys(settings: Settings, database: Database, keys: Keyring | None) -> Any:
    """The per-migrant data keys (msafiri/data_keys.py), wrapped by the
    master keys; None with encryption or personal keys switched off."""
    from msafiri.data_keys import SqlDataKeys

    if keys is None or settings.personal_keys == "off":
        return None
    connect = connector(settings, database)
    if database.backend == "sqlite":
        # Shared by the TUI's threads (one at a time: SqlDataKeys locks).
        target, timeout = database.sqlite_target(), settings.connect_timeout_seconds * 5

        def connect() -> Any:
            return sqlite3.connect(
                target, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )

    return SqlDataKeys(connect, database.backend, keys)


def keyring(settings: Settings, database: Database) -> Keyring | None:
    """The master keys that seal the event store (msafiri/keys.py): checked
    against the stored events before anything is written; a missing or
    wrong key is one line (KeyProblem, a ConfigurationError)."""
    return open_keyring(settings, database, connector(settings, database))


def audit_store(settings: Settings, database: Database, keys: Keyring | None = None) -> AuditStore:
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
        authenticate=authenticator(keys),
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
        if database.read_only:
            # Nothing can be created in a read-only file, and the lock file
            # could not be either: there is nothing to serialise.
            yield
            return
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


def check_configuration(settings: Settings) -> None:
    """What commands will need later, checked before anything is written: a
    command must not store its events and then fail on a key file."""
    check_signing_key(settings.audit_signing_key_file)
    checkpoint_file = settings.audit_checkpoint_file
    if checkpoint_file is None:
        return
    name = "MSAFIRI_AUDIT_CHECKPOINT_FILE"
    if checkpoint_file.exists():
        if not checkpoint_file.is_file() or not os.access(checkpoint_file, os.W_OK):
            raise ConfigurationError(
                f"{name}: {checkpoint_file} is not a file this user may append to "
                "(fix its permissions, or change the setting)"
            )
    elif not checkpoint_file.parent.is_dir():
        raise ConfigurationError(
            f"{name}: the folder {checkpoint_file.parent} does not exist "
            "(create it, or change the setting)"
        )
    elif not os.access(checkpoint_file.parent, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"{name}: cannot create {checkpoint_file}: its folder is read-only "
            "(fix its permissions, or change the setting)"
        )


def check_signing_key(key_file) -> None:
    """The audit signing key: a readable Ed25519 private key (PEM) that only
    its owner may read."""
    if key_file is None:
        return
    name = "MSAFIRI_AUDIT_SIGNING_KEY_FILE"
    make = "create one with `msafiri audit keygen`, or unset the variable"
    try:
        mode = key_file.stat().st_mode
        text = key_file.read_text()
    except FileNotFoundError:
        raise ConfigurationError(f"{name}: {key_file} does not exist ({make})") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{name}: {key_file} is a folder, not a key file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigurationError(f"{name}: cannot read {key_file}: {reason}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{name}: {key_file} may be read by other users (mode {stat.S_IMODE(mode):o}): "
            f"`chmod 600 {key_file}`"
        )
    # Imported here: the crypto library is only loaded when a key is set.
    from Crypto.PublicKey import ECC

    try:
        key = ECC.import_key(text)
    except (ValueError, IndexError, TypeError):
        raise ConfigurationError(
            f"{name}: {key_file} holds no private key in PEM ({make})"
        ) from None
    if key.curve.lower() not in ("ed25519", "ed25519".upper()) or not key.has_private():
        raise ConfigurationError(f"{name}: {key_file} is not an Ed25519 private key ({make})")


def officer_service(
    settings: Settings,
    database: Database,
    store: EventStore,
    authz: Authoriser,
    access_log: AccessLogService | None = None,
) -> OfficerService:
    """Officers, with sign-in's counters and log in the same database
    (msafiri/sign_in_records.py) and the policies the settings choose."""
    from domain.officers.passwords import PasswordPolicy
    from domain.officers.service import OfficerService
    from domain.officers.sign_in import LockoutRule
    from msafiri.sign_in_records import SqlSignInRecords

    # A read-only SQLite file can record nothing: sign-in there is neither
    # counted nor logged (and the file's own writer's records stand).
    records = (
        None
        if database.read_only
        else SqlSignInRecords(
            connector(settings, database),
            database.backend,
            before_write=access_log.recorder.flush if access_log else None,
        )
    )
    return OfficerService(
        store,
        authz,
        records,
        policy=PasswordPolicy(min_length=settings.password_min_length),
        lockout=LockoutRule(
            max_failures=settings.sign_in_max_failures,
            period=timedelta(minutes=settings.sign_in_lockout_minutes),
        ),
    )


def read_replica(settings: Settings, database: Database) -> Database | None:
    """The streaming replica in MSAFIRI_READ_DATABASE_URL, checked reachable
    (None when unset). Only PostgreSQL has one: SQLite is one file."""
    if not settings.read_database_url:
        return None
    name = "MSAFIRI_READ_DATABASE_URL"
    try:
        replica = parse_database_url(settings.read_database_url)
    except ConfigurationError as error:
        raise ConfigurationError(str(error).replace("MSAFIRI_DATABASE_URL", name)) from None
    if replica.backend != "postgresql" or database.backend != "postgresql":
        raise ConfigurationError(
            f"{name} must be a postgresql:// URL of a streaming replica of the PostgreSQL "
            "server in MSAFIRI_DATABASE_URL (SQLite has no replicas; unset it)"
        )
    if replica.dbname != database.dbname:
        raise ConfigurationError(
            f"{name} must name the same database as MSAFIRI_DATABASE_URL "
            f"({database.dbname!r}, got {replica.dbname!r}): a replica holds the same databases"
        )
    try:
        return check_reachable(settings, replica)
    except DatabaseUnavailable as error:
        raise DatabaseUnavailable(
            f"the read replica ({name}): {str(error).replace('MSAFIRI_DATABASE_URL', name)}"
        ) from None


@dataclass(frozen=True)
class ShadowParts:
    """Runs a shadow rebuild's parts in processes built from these settings
    (msafiri/shadow_parts.py, imported only when a rebuild is split)."""

    settings: Settings

    def __call__(self, groups, head, report, stop=None) -> int:
        from msafiri.shadow_parts import run_parts

        return run_parts(self.settings, groups, head, report, stop)


def build_system(settings: Settings | None = None, *, create: bool = True) -> System:
    """The configured system. `create=False` refuses a SQLite file that does
    not exist (the CLI passes it for every command but `db upgrade`, `demo`
    and `officer init`)."""
    settings = settings or Settings()
    database = parse_database_url(settings.database_url)
    check_configuration(settings)
    database = check_reachable(settings, database, create)
    replica = read_replica(settings, database)
    keys = keyring(settings, database)
    # Everything that may create or upgrade tables happens under one lock.
    with schema_creation_lock(settings, database):
        store = EventStore(
            env=eventsourcing_env(settings, database),
            keyring=keys,
            data_keys=data_keys(settings, database, keys),
        )
        authz = Authoriser(store)
        ledger = LedgerService(store, authz, settings.fund_code, book_snapshots(store, database))
        audit = audit_store(settings, database, keys)
        # SQLite: the read-model schema is brought up to date here; PostgreSQL:
        # SchemaBehind (one line naming `msafiri db upgrade`) when it is behind.
        read_models = open_read_models(settings, database, store, read_database=replica)
    system = System(
        settings=settings,
        database=database,
        store=store,
        authz=authz,
        ledger=ledger,
        audit=audit,
        read_models=read_models,
        read_database=replica,
    )
    read_models.companions = [system.run_fund_process, audit.keep_up]
    read_models.shadow_parts = ShadowParts(settings)
    return system


def access_log_service(
    settings: Settings,
    database: Database,
    authz: Authoriser,
    access: AccessService | None = None,
    queries: Any = None,
) -> AccessLogService:
    """The access log, buffered in this process (projections/access_log/)."""
    from projections.access_log.recorder import AccessRecorder
    from projections.access_log.service import AccessLogService
    from projections.access_log.store import AccessLogStore

    store = AccessLogStore(connector(settings, database), database.backend)
    # A read-only SQLite file can record nothing; its reads go unlogged.
    recorder = AccessRecorder(
        None if database.read_only else store, flush_ms=settings.access_log_flush_ms
    )
    return AccessLogService(store, recorder, authz, access, queries)


def upgrade_schema(settings: Settings) -> tuple[Database, list[str]]:
    """`msafiri db upgrade`: create the database's tables (SQLite: the file
    too) and apply pending read-model migrations, under the schema lock."""
    from projections.schema import upgrade

    database = parse_database_url(settings.database_url)
    database = check_reachable(settings, database, create=True)
    if database.read_only:
        raise DatabaseUnavailable(
            f"{database.path} is read-only: give this user write access to the file and its "
            "folder to upgrade its schema"
        )
    with schema_creation_lock(settings, database):
        EventStore(env=eventsourcing_env(settings, database)).close()
        applied = upgrade(database, settings.connect_timeout_seconds)
    return database, applied


__all__ = [
    "ConfigurationError",
    "DatabaseUnavailable",
    "System",
    "build_system",
    "upgrade_schema",
]
