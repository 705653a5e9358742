"""Settings and the composition root: which database, and clear errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.bootstrap import DatabaseUnavailable, build_system
from tui.settings import ConfigurationError, Settings, default_database_url, parse_database_url


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
            "tui.cli.main",
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
