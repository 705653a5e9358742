"""Settings and the composition root: which database, and clear errors."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msafiri.bootstrap import DatabaseUnavailable, build_system
from msafiri.settings import ConfigurationError, Settings, default_database_url, parse_database_url


def test_with_nothing_set_events_go_to_a_sqlite_file_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("MSAFIRI_DATABASE_URL", raising=False)
    database = parse_database_url(Settings().database_url)
    assert database.backend == "sqlite"
    assert database.path == tmp_path / "msafiri" / "msafiri.db"
    assert default_database_url().endswith("msafiri/msafiri.db")


def test_database_urls_name_sqlite_files_or_postgresql_servers():
    assert parse_database_url("sqlite:////var/lib/msafiri/x.db").path == Path(
        "/var/lib/msafiri/x.db"
    )
    assert parse_database_url("sqlite:///relative.db").path == Path("relative.db")
    pg = parse_database_url("postgresql://fund:s3cret@db.example:6543/msafiri")
    assert (pg.backend, pg.host, pg.port, pg.user, pg.dbname) == (
        "postgresql",
        "db.example",
        6543,
        "fund",
        "msafiri",
    )
    assert "s3cret" not in pg.url


@pytest.mark.parametrize(
    "url",
    ["mysql://x@y/z", "sqlite://", "postgresql://localhost/db", "postgresql://u@h:notaport/db"],
)
def test_a_wrong_url_is_one_clear_line_naming_the_variable(url):
    with pytest.raises(ConfigurationError, match="MSAFIRI_DATABASE_URL must look like"):
        parse_database_url(url)


def test_an_unreachable_server_is_reported_within_seconds():
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="cannot connect to PostgreSQL at"):
        build_system(Settings(database_url="postgresql://postgres@127.0.0.1:9/msafiri"))
    # Generous bound: the point is "seconds, not the pool's minutes of retrying".
    assert time.monotonic() - started < 30


def test_the_cli_reports_a_bad_url_in_one_line_without_a_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "msafiri.cli.main",
            "case",
            "show",
            "00000000-0000-4000-8000-000000000000",
        ],
        env={"MSAFIRI_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to PostgreSQL")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_read_only_sqlite_file_is_opened_read_only(tmp_path):
    path = tmp_path / "x.db"
    database = parse_database_url(f"sqlite:///{path}")
    assert database.sqlite_target() == str(path)  # writable: the plain path
    read_only = dataclasses.replace(database, read_only=True)
    # No writer has a write-ahead log open: nothing can change under us.
    assert read_only.sqlite_target() == f"file:{path}?immutable=1"
    path.with_name("x.db-wal").write_bytes(b"")
    # A writer is at work: read its log, through SQLite's locks.
    assert read_only.sqlite_target() == f"file:{path}?mode=ro"


def test_a_database_that_does_not_exist_is_created_only_when_asked(tmp_path):
    missing = tmp_path / "typo" / "msafiri.db"
    settings = Settings(database_url=f"sqlite:///{missing}")
    with pytest.raises(DatabaseUnavailable, match=r"no Msafiri database at .*msafiri demo"):
        build_system(settings, create=False)
    assert not missing.parent.exists()
    build_system(settings).close()  # the library API (tests, demo) creates it
    assert missing.exists()
    build_system(settings, create=False).close()


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        (None, 0o600, "does not exist"),
        ("not a key", 0o600, "holds no private key in PEM"),
        ("KEY", 0o640, "may be read by other users (mode 640)"),
    ],
)
def test_the_signing_key_is_checked_before_anything_is_written(tmp_path, content, mode, problem):
    from projections.audit import signing

    key = tmp_path / "audit.pem"
    if content == "KEY":
        signing.generate_key(key)
    elif content is not None:
        key.write_text(content)
    if key.exists():
        key.chmod(mode)
    database = tmp_path / "msafiri.db"
    settings = Settings(database_url=f"sqlite:///{database}", audit_signing_key_file=key)
    with pytest.raises(
        ConfigurationError, match=rf"MSAFIRI_AUDIT_SIGNING_KEY_FILE: .*{re.escape(problem)}"
    ):
        build_system(settings)
    assert not database.exists()
