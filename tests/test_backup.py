"""Backups restore: `msafiri backup create` then `backup verify FILE
--key-file K` restores into a scratch place and passes `audit verify`; with
another installation's key it fails. SQLite, and a pg_dump round trip on
PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests.test_fund_cli import run


@pytest.fixture
def demo(settings, monkeypatch, capsys):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    code, _, err = run(capsys, "demo", "--migrants", "12")
    assert code == 0, err
    return Path(os.environ["MSAFIRI_KEY_FILE"])


def other_installations_key(tmp_path) -> Path:
    key_file = tmp_path / "other" / "master.key"
    key_file.parent.mkdir()
    system = build_system(
        Settings(database_url=f"sqlite:///{tmp_path / 'other' / 'x.db'}", key_file=key_file),
        create=True,
    )
    system.close()
    assert key_file.exists()
    return key_file


def test_backup_create_and_verify(demo, settings, tmp_path, capsys):
    key_file = demo
    suffix = ".db" if settings.database_url.startswith("sqlite") else ".dump"
    file = tmp_path / f"backup{suffix}"
    code, out, err = run(capsys, "backup", "create", str(file))
    assert code == 0, err
    assert file.exists() and "written to" in out
    # The key is not in the backup.
    assert key_file.read_bytes().strip() not in file.read_bytes()

    code, out, err = run(capsys, "backup", "verify", str(file), "--key-file", str(key_file))
    assert code == 0, err + out
    assert len(out.splitlines()) == 1
    assert out.startswith("backup OK:") and "audit verify passed" in out

    # A backup without its key is useless: another installation's key fails.
    wrong = other_installations_key(tmp_path)
    code, out, err = run(capsys, "backup", "verify", str(file), "--key-file", str(wrong))
    assert code == 3, err
    assert out.startswith("backup FAILED:")

    # An existing file is never overwritten; a file that is no backup is refused.
    code, _, err = run(capsys, "backup", "create", str(file))
    assert code == 1 and "exists already" in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup")
    code, _, err = run(capsys, "backup", "verify", str(junk), "--key-file", str(key_file))
    assert code == 1 and "neither a SQLite database nor a pg_dump" in err
