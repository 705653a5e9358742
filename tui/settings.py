"""Msafiri's settings: the only place that reads the environment (MSAFIRI_*)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(Exception):
    """A setting is wrong; the message names the variable and the rule."""


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("msafiri", appauthor=False))
    return f"sqlite:///{data_dir / 'msafiri.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MSAFIRI_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="sqlite:///path/to/file.db (default: per-user data dir) or "
        "postgresql://user[:password]@host[:port]/dbname",
    )
    connect_timeout_seconds: int = Field(default=3, ge=1, le=60)
    pool_size: int = Field(default=5, ge=1, le=100)
    pool_max_overflow: int = Field(default=10, ge=0, le=100)
    projection_batch_size: int = Field(default=2000, ge=1, le=50_000)
    projection_poll_seconds: float = Field(default=0.5, ge=0.05, le=60)
    # The CLI twin acts as an officer: --officer/--role override these, and
    # the password is prompted for when not given (scripts set it here).
    officer: str | None = None
    role: str | None = None
    officer_password: str | None = None
    fund_code: str = Field(default="MWF", pattern=r"^[A-Za-z][A-Za-z0-9]{1,9}$")
    # Ed25519 private key (PEM) that signs audit checkpoints; see `msafiri audit keygen`.
    audit_signing_key_file: Path | None = None
    # The log's followers take a checkpoint of the audit chain this often
    # (when the chain has moved; 0 = only `msafiri audit checkpoint`), and
    # append each to this file if set (put it on storage Msafiri's database
    # administrators cannot rewrite).
    audit_checkpoint_minutes: float = Field(default=60, ge=0)
    audit_checkpoint_file: Path | None = None
    nats_url: str | None = None
    nats_stream: str = "MSAFIRI"
    nats_subject_prefix: str = "msafiri"
    nats_replicas: int = Field(default=1, ge=1, le=5)
    nats_duplicate_window_seconds: int = Field(default=120, ge=1)
    # Stream retention (0 = keep forever / unlimited). The stream is the
    # integration feed, not the record: the event store keeps everything.
    nats_max_age_days: float = Field(default=0, ge=0)
    nats_max_bytes: int = Field(default=0, ge=0)


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
