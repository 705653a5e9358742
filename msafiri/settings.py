"""Msafiri's settings: the only place that reads the environment (MSAFIRI_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(Exception):
    """A setting is wrong; the message names the variable and the rule."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("msafiri", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'msafiri.db'}"


def default_key_file() -> Path:
    return Path(platformdirs.user_config_dir("msafiri", appauthor=False)) / "master.key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MSAFIRI_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="sqlite:///path/to/file.db (default: per-user data dir) or "
        "postgresql://user[:password]@host[:port]/dbname",
    )
    # A PostgreSQL streaming replica of MSAFIRI_DATABASE_URL's server (same
    # database name) that the TUI's and CLI's reads of the read models go to;
    # writes, the event store and the workers stay on the primary
    # (docs/operations.md "Read replica"). Unset: everything on the primary.
    read_database_url: str | None = None
    connect_timeout_seconds: int = Field(default=3, ge=1, le=60)
    pool_size: int = Field(default=5, ge=1, le=100)
    pool_max_overflow: int = Field(default=10, ge=0, le=100)
    # PostgreSQL ends a session left idle inside a transaction this long
    # (0: never). The library's 5 s default ended the 100k-migrant demo twice
    # on a loaded machine, where a worker may pause between two statements;
    # a minute still frees a lock that a stuck process holds.
    idle_in_transaction_seconds: int = Field(default=60, ge=0, le=3600)
    projection_batch_size: int = Field(default=2000, ge=1, le=50_000)
    projection_poll_seconds: float = Field(default=0.5, ge=0.05, le=60)
    # The CLI twin acts as an officer: --officer/--role override these, and
    # the password is prompted for when not given (scripts set it here).
    officer: str | None = None
    role: str | None = None
    officer_password: str | None = None
    # Where the TUI writes the exports an officer asks for (created on first
    # export). The CLI writes to --output or standard output.
    exports_dir: Path = Field(default_factory=lambda: default_data_dir() / "exports")
    # The zone of a date-time an officer types without one (IANA name, e.g.
    # Asia/Riyadh); empty: the machine's own zone.
    timezone: str | None = None
    fund_code: str = Field(default="MWF", pattern=r"^[A-Za-z][A-Za-z0-9]{1,9}$")
    # Ed25519 private key (PEM) that signs audit checkpoints; see `msafiri audit keygen`.
    audit_signing_key_file: Path | None = None
    # The log's followers take a checkpoint of the audit chain this often
    # (when the chain has moved; 0 = only `msafiri audit checkpoint`), and
    # append each to this file if set (put it on storage Msafiri's database
    # administrators cannot rewrite).
    audit_checkpoint_minutes: float = Field(default=60, ge=0)
    audit_checkpoint_file: Path | None = None
    # Encryption at rest (docs/encryption.md): the master keys are in this
    # file (made with mode 0600 when an empty database is first opened) or,
    # for services, in MSAFIRI_MASTER_KEY (base64 keys, comma-separated, the
    # current one first), which then wins. Never logged or exported.
    key_file: Path = Field(default_factory=default_key_file)
    master_key: SecretStr | None = None
    # "off" exists for benchmarks (on against off in one run); never in production.
    encryption: Literal["on", "off"] = "on"
    # Per-migrant data keys (crypto-shredding, docs/encryption.md): "off"
    # exists for benchmarks only; with encryption off there are none.
    personal_keys: Literal["on", "off"] = "on"
    nats_url: str | None = None
    nats_stream: str = "MSAFIRI"
    nats_subject_prefix: str = "msafiri"
    nats_replicas: int = Field(default=1, ge=1, le=5)
    nats_duplicate_window_seconds: int = Field(default=120, ge=1)
    # Stream retention (0 = keep forever / unlimited). The stream is the
    # integration feed, not the record: the event store keeps everything.
    nats_max_age_days: float = Field(default=0, ge=0)
    nats_max_bytes: int = Field(default=0, ge=0)

    # --- audit verify (issue 12 items 5-6) ------------------------------------
    # `msafiri audit verify` fails when events newer than the chain's head
    # have waited longer than this to be chained (0: any unchained event).
    audit_unchained_max_minutes: float = Field(default=60, ge=0)
    # Ed25519 public key (PEM) that plain `msafiri audit verify` checks the
    # database's signed checkpoints with; without it, the signing key's
    # public half when MSAFIRI_AUDIT_SIGNING_KEY_FILE is set.
    audit_public_key_file: Path | None = None

    # --- sign-in (issue 14 item 6; docs/privacy.md "Sign-in") -----------------
    # This many failed sign-ins within the lockout period lock the username
    # (known or not) for the lockout period; the count is kept in the
    # database, so every process and machine sees the same lock.
    sign_in_max_failures: int = Field(default=5, ge=1, le=100)
    sign_in_lockout_minutes: float = Field(default=15, gt=0, le=24 * 60)
    # The terminal UI signs its officer out after this long without a key
    # press or a click.
    tui_idle_sign_out_minutes: float = Field(default=15, gt=0, le=24 * 60)
    # New passwords: at least this many characters, and not easy to guess
    # (domain/officers/passwords.py). NIST SP 800-63B-4 asks 15 where the
    # password is the only factor.
    password_min_length: int = Field(default=12, ge=8, le=64)
    # The access log (docs/privacy.md): reads are buffered in the process and
    # written as one chained batch this often (or at 100 entries, and at
    # exit); a killed process loses at most this much. 0: write each at once.
    access_log_flush_ms: int = Field(default=200, ge=0, le=60_000)

    # --- serving the TUI to browsers (issue 18; docs/operations.md) ----------
    # `msafiri serve` runs one app process per browser connection, at most
    # this many at once (each holds its own database connections and ~100 MB);
    # the next browser gets "at capacity" until a tab closes.
    serve_max_sessions: int = Field(default=8, ge=1, le=500)
    # Page loads and websocket connections per client address per minute
    # (each tab opened makes two).
    serve_attempts_per_minute: int = Field(default=30, ge=2, le=10_000)
    # Set by `msafiri serve` for the app processes it starts, never by hand:
    # the officer is connected by a browser, from this address.
    connection: Literal["browser"] | None = None
    connection_from: str | None = None

    # Statistics of restricted incident categories hide counts below this
    # (and whatever would give them away): projections/suppression.py.
    suppression_threshold: int = Field(default=5, ge=2, le=100)
    # --- retention (issue 15 item 3; docs/privacy.md "Retention") -------------
    # A closed case is kept this many years after it was closed; then
    # `msafiri case retention` proposes its erasure to a data-protection
    # officer (nothing is erased automatically).
    retention_years: int = Field(default=7, ge=1, le=100)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("must be an IANA time zone name, e.g. Asia/Riyadh") from None
        return value or None


def officer_connection(settings: Settings) -> tuple[str, str | None]:
    """How the officer reaches this process and from where: "browser" (the
    app process `msafiri serve` started for a browser tab), "ssh" (OpenSSH
    sets SSH_CONNECTION, also under a ForceCommand), else "terminal"."""
    if settings.connection == "browser":
        return "browser", settings.connection_from
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    if ssh:
        return "ssh", ssh[0]
    return "terminal", None


@dataclass(frozen=True)
class Database:
    """A parsed MSAFIRI_DATABASE_URL."""

    backend: str  # "sqlite" or "postgresql"
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    # SQLite only: the file (or its folder) may not be written. Found out
    # when the system is built (msafiri/bootstrap.py), not from the URL.
    read_only: bool = False

    def sqlite_target(self) -> str:
        """What `sqlite3.connect(..., uri=True)` opens. A read-only file is
        opened read-only; when no writer has a write-ahead log open beside
        it (no `-wal` file), as immutable: SQLite otherwise needs to create
        the `-shm` file even to read a WAL database, and fails with
        "attempt to write a readonly database"."""
        assert self.path is not None
        if not self.read_only:
            return str(self.path)
        from urllib.parse import quote

        wal = self.path.with_name(self.path.name + "-wal")
        mode = "mode=ro" if wal.exists() else "immutable=1"
        return f"file:{quote(str(self.path.resolve()))}?{mode}"

    @property
    def url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.path}"  # an absolute path adds the fourth slash
        auth = self.user + (":***" if self.password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"

    def conninfo(self) -> str:
        parts = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
            "password": self.password,
        }
        return " ".join(f"{key}='{value}'" for key, value in parts.items() if value != "")


def parse_database_url(url: str) -> Database:
    rule = (
        "MSAFIRI_DATABASE_URL must look like sqlite:///path/to/file.db "
        "or postgresql://user@host:port/dbname"
    )
    parts = urlsplit(url.strip())
    if parts.scheme == "sqlite":
        # As in SQLAlchemy: sqlite:///relative.db, sqlite:////absolute/path.db
        path = unquote(parts.path)[1:]
        if parts.netloc or not path:
            raise ConfigurationError(f"{rule} (got {url!r}: no file path)")
        return Database(backend="sqlite", path=Path(path).expanduser())
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = parts.path.lstrip("/")
        if not parts.hostname or not dbname or not parts.username:
            raise ConfigurationError(f"{rule} (got {url!r}: user, host and dbname are required)")
        try:
            port = parts.port or 5432
        except ValueError:
            raise ConfigurationError(f"{rule} (got {url!r}: the port is not a number)") from None
        return Database(
            backend="postgresql",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            dbname=dbname,
        )
    raise ConfigurationError(f"{rule} (got {url!r}: unknown scheme {parts.scheme!r})")
