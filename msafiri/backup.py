"""Backups that are known to restore (docs/operations.md, "Backups").

`create` copies the database: on SQLite with the sqlite3 online backup API
(a consistent copy while officers keep writing), on PostgreSQL with
`pg_dump --format=custom`. The key file is never put in the backup: it is
backed up separately, so a stolen backup is sealed data only.

`verify` restores a backup into a temporary place (a copy of the SQLite
file; a scratch PostgreSQL database on the configured server, dropped
afterwards) and runs `msafiri audit verify` against it with the given key
file, in a child process exactly as an operator would: the backup passes
only if every event opens with that key, the hash chain and checkpoints
hold and the read models match a replay.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from msafiri.settings import Database, Settings, parse_database_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupProblem(Exception):
    """A backup cannot be made or read; the message says why."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    kind: str  # "sqlite" or "pg_dump"
    checked: int  # events verified
    problems: list[str]

    @property
    def line(self) -> str:
        if self.ok:
            return f"backup OK: {self.kind} restored; audit verify passed ({self.checked:,} events)"
        return f"backup FAILED: {self.kind} restored; audit verify: " + "; ".join(self.problems)


def create(settings: Settings, output: Path) -> str:
    """Write a backup of the configured database to `output`; what was done."""
    database = parse_database_url(settings.database_url)
    if output.exists():
        raise BackupProblem(f"{output} exists already; choose a new file name")
    folder = output.parent
    if not folder.is_dir():
        raise BackupProblem(f"cannot write the backup to {output}: no folder {folder}; create it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupProblem(
            f"cannot write the backup to {output}: the folder {folder} is read-only for this user"
        )
    if database.backend == "sqlite":
        assert database.path is not None
        if not database.path.exists():
            raise BackupProblem(f"no database at {database.path}")
        source = sqlite3.connect(database.path)
        try:
            target = sqlite3.connect(output)
        except sqlite3.Error as error:
            source.close()
            raise BackupProblem(f"cannot write the backup to {output}: {error}") from None
        try:
            with target:
                source.backup(target)
        except sqlite3.Error as error:  # e.g. the disk filled up
            output.unlink(missing_ok=True)
            raise BackupProblem(f"cannot write the backup to {output}: {error}") from None
        finally:
            target.close()
            source.close()
        return f"SQLite backup of {database.path} written to {output}"
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={output}", database.conninfo()])
    return f"pg_dump (custom format) of {database.url} written to {output}"


def verify(settings: Settings, backup: Path, key_file: Path) -> Verdict:
    if not backup.is_file():
        raise BackupProblem(f"no backup file at {backup}")
    if not key_file.is_file():
        raise BackupProblem(f"no key file at {key_file}")
    with backup.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        with tempfile.TemporaryDirectory(prefix="msafiri-verify-") as scratch:
            copy = Path(scratch) / "restored.db"
            shutil.copyfile(backup, copy)
            return _audit_verify("sqlite", f"sqlite:///{copy}", key_file)
    if head.startswith(PG_DUMP_MAGIC):
        server = parse_database_url(settings.database_url)
        if server.backend != "postgresql":
            raise BackupProblem(
                "a pg_dump file is restored into a scratch database on a PostgreSQL server: "
                "set MSAFIRI_DATABASE_URL to one (the scratch database is dropped afterwards)"
            )
        scratch = Database(**{**server.__dict__, "dbname": f"msafiri_verify_{uuid.uuid4().hex}"})
        _admin(server, f'CREATE DATABASE "{scratch.dbname}"')
        try:
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--exit-on-error",
                    "-d",
                    scratch.conninfo(),
                    str(backup),
                ]
            )
            url = f"postgresql://{scratch.user}@{scratch.host}:{scratch.port}/{scratch.dbname}"
            password = {"PGPASSWORD": scratch.password} if scratch.password else {}
            return _audit_verify("pg_dump", url, key_file, password)
        finally:
            _admin(server, f'DROP DATABASE IF EXISTS "{scratch.dbname}" WITH (FORCE)')
    raise BackupProblem(f"{backup} is neither a SQLite database nor a pg_dump custom-format file")


def _audit_verify(kind: str, url: str, key_file: Path, extra: dict | None = None) -> Verdict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSAFIRI_")}
    env |= {"MSAFIRI_DATABASE_URL": url, "MSAFIRI_KEY_FILE": str(key_file)} | (extra or {})
    # --full: a restore drill compares every read model with the log, not a
    # sample - it runs once, offline, on a copy, and must find everything.
    done = subprocess.run(
        [sys.executable, "-m", "msafiri.cli.main", "audit", "verify", "--full", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        with contextlib.suppress(ValueError, KeyError, TypeError):
            error = json.loads(error)["error"]
        return Verdict(False, kind, 0, [str(error)])
    return Verdict(bool(report["ok"]), kind, int(report["checked"]), list(report["problems"]))


def _admin(server: Database, statement: str) -> None:
    admin = Database(**{**server.__dict__, "dbname": "postgres"})
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        conn.execute(statement)


def _run(argv: list[str]) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupProblem(f"{argv[0]} is not installed (PostgreSQL client tools)") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupProblem(f"{argv[0]}: {last}")
