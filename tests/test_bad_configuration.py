"""Bad configuration and a broken environment: one line with the cause and
the fix on stderr, a non-zero exit, never a traceback.

Each case runs the real CLI in a child process. A read-only file or folder
is made with permissions; as root (these machines) the child drops the
capabilities that let root ignore them. A full disk is a 2 MiB tmpfs when
root may mount one, else a file-size limit on the child.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from msafiri.demo.officers import DEMO_PASSWORD
from projections.audit import signing
from tests import pg_server

ROOT = Path(__file__).resolve().parent.parent
REGISTRAR = ("--officer", "demo.registrar", "--role", "registration_officer")
REGISTER = (
    *REGISTRAR,
    "case",
    "register",
    "full_name=Achieng Atieno",
    "sex=female",
    "date_of_birth=1997-05-02",
    "national_id=32345679",
    "phone=+254712000002",
    "county=Kisumu",
    "education=secondary",
    "skills=housekeeping",
    "registered_on=2026-01-05",
)
AUDITOR = ("--officer", "demo.auditor", "--role", "auditor")

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _as_plain_user() -> None:
    """Root ignores file permissions through two capabilities; drop them
    from the bounding set, so the program exec'd next never has them."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def msafiri(url: str, *argv: str, plain_user=False, file_limit=None, **env: str):
    def prepare() -> None:
        if plain_user:
            _as_plain_user()
        if file_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    child_env = {key: value for key, value in os.environ.items() if not key.startswith("MSAFIRI_")}
    child_env |= {"MSAFIRI_DATABASE_URL": url, "MSAFIRI_OFFICER_PASSWORD": DEMO_PASSWORD, **env}
    return subprocess.run(
        [sys.executable, "-m", "msafiri.cli.main", *argv],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=prepare,
    )


def one_line_refusal(result, *expected: str) -> str:
    """The run failed with exactly one line on stderr, naming `expected`."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode != 0, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    """A small demo database to copy (read-only cases)."""
    path = tmp_path_factory.mktemp("demo") / "msafiri.db"
    result = msafiri(sqlite_url(path), "demo", "--migrants", "30", "--json")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def read_only_copy(demo_file, tmp_path) -> Path:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "msafiri.db"
    path.write_bytes(demo_file.read_bytes())
    path.chmod(0o444)
    folder.chmod(0o555)
    yield path
    folder.chmod(0o755)


# --- SQLite ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [("projections", "status"), (*AUDITOR, "case", "show", str(uuid.uuid4()))]
)
def test_a_mistyped_path_is_not_made_into_an_empty_database(tmp_path, argv):
    missing = tmp_path / "typo" / "msafiri.db"
    result = msafiri(sqlite_url(missing), *argv)
    one_line_refusal(
        result, f"no Msafiri database at {missing}", "msafiri db upgrade", "msafiri demo"
    )
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize("argv", [("projections", "status"), ("db", "upgrade"), REGISTER])
def test_a_file_that_is_not_a_database(tmp_path, argv):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    result = msafiri(sqlite_url(path), *argv)
    line = one_line_refusal(result, str(path), "not an Msafiri database")
    assert "break-lock" not in line


@pytest.mark.parametrize("argv", [("projections", "status"), ("db", "upgrade"), ("demo",)])
def test_dev_full_as_the_database(argv):
    one_line_refusal(msafiri(sqlite_url(Path("/dev/full")), *argv), "/dev/full", "not a file")


@pytest.mark.parametrize("argv", [REGISTER, ("db", "upgrade"), ("projections", "rebuild")])
def test_a_read_only_file_refuses_writes_in_one_line(read_only_copy, argv):
    before = read_only_copy.read_bytes()
    result = msafiri(sqlite_url(read_only_copy), *argv, plain_user=True)
    line = one_line_refusal(result, str(read_only_copy), "read-only")
    assert "break-lock" not in line
    assert read_only_copy.read_bytes() == before


@pytest.mark.parametrize(
    "argv",
    [
        ("projections", "status"),
        (*AUDITOR, "audit", "who", "--officer", "demo.fund"),
        (*AUDITOR, "audit", "verify"),
        (*AUDITOR, "audit", "checkpoints"),
    ],
)
def test_a_read_only_database_still_serves_reads(read_only_copy, argv):
    result = msafiri(sqlite_url(read_only_copy), *argv, plain_user=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout.strip()


@pytest.mark.parametrize("command", ["case show", "case search", "audit as-of"])
def test_a_read_only_database_shows_finds_and_replays_a_case(read_only_copy, demo_file, command):
    import sqlite3

    conn = sqlite3.connect(demo_file)
    migrant_id, case_number = conn.execute(
        "SELECT migrant_id, case_number FROM rm_cases LIMIT 1"
    ).fetchone()
    conn.close()
    argv = {
        "case show": ("case", "show", migrant_id),
        "case search": ("case", "search", case_number, "--json"),
        "audit as-of": ("audit", "as-of", migrant_id, "--position", "100000"),
    }[command]
    result = msafiri(sqlite_url(read_only_copy), *AUDITOR, *argv, plain_user=True)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert migrant_id in result.stdout or case_number in result.stdout, result.stdout


def test_a_read_only_folder_refuses_writes_in_one_line(demo_file, tmp_path):
    folder = tmp_path / "ro-folder"
    folder.mkdir()
    path = folder / "msafiri.db"
    path.write_bytes(demo_file.read_bytes())  # the file itself stays writable
    folder.chmod(0o555)
    try:
        status = msafiri(sqlite_url(path), "projections", "status", plain_user=True)
        assert status.returncode == 0, status.stderr
        one_line_refusal(msafiri(sqlite_url(path), *REGISTER, plain_user=True), "read-only")
        assert sorted(p.name for p in folder.iterdir()) == ["msafiri.db"]
    finally:
        folder.chmod(0o755)


def test_a_missing_signing_key_file(demo_file, tmp_path):
    path = tmp_path / "msafiri.db"
    path.write_bytes(demo_file.read_bytes())
    key = tmp_path / "no-such-key.pem"
    result = msafiri(sqlite_url(path), *REGISTER, MSAFIRI_AUDIT_SIGNING_KEY_FILE=str(key))
    one_line_refusal(result, "MSAFIRI_AUDIT_SIGNING_KEY_FILE", str(key), "msafiri audit keygen")
    assert path.read_bytes() == demo_file.read_bytes()  # nothing was stored


def test_a_signing_key_others_may_read(demo_file, tmp_path):
    path = tmp_path / "msafiri.db"
    path.write_bytes(demo_file.read_bytes())
    key = tmp_path / "audit.pem"
    signing.generate_key(key)
    key.chmod(0o644)
    result = msafiri(sqlite_url(path), *REGISTER, MSAFIRI_AUDIT_SIGNING_KEY_FILE=str(key))
    one_line_refusal(result, "MSAFIRI_AUDIT_SIGNING_KEY_FILE", f"chmod 600 {key}")


@contextlib.contextmanager
def small_disk(tmp_path: Path):
    """A folder on a 2 MiB file system, or None (then a file-size limit)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
        )
        if done.returncode == 0:
            try:
                yield mount, None
            finally:
                subprocess.run(["umount", "-l", str(mount)], check=True)
            return
    yield mount, 2 * 1024 * 1024


def test_a_full_disk_during_the_demo(tmp_path):
    with small_disk(tmp_path) as (folder, file_limit):
        result = msafiri(
            sqlite_url(folder / "msafiri.db"), "demo", "--migrants", "3000", file_limit=file_limit
        )
        line = one_line_refusal(result)
        assert "full" in line or "disk I/O" in line, line


# --- PostgreSQL --------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once it is closed


@pytest.mark.parametrize("argv", [("db", "upgrade"), ("projections", "status"), REGISTER])
def test_no_postgresql_server(argv):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/msafiri"
    line = one_line_refusal(msafiri(url, *argv), "cannot connect to PostgreSQL")
    # The server's (here: the client library's) whole message, not its last line.
    assert "Connection refused" in line and "Is the server running" in line, line


@pytest.mark.parametrize("argv", [("db", "upgrade"), ("projections", "status")])
def test_no_such_postgresql_database(pg_server_url, argv):
    url = pg_server.with_dbname(pg_server_url, f"msafiri_missing_{uuid.uuid4().hex[:8]}")
    line = one_line_refusal(msafiri(url, *argv), "does not exist", "createdb")
    assert line.count("error:") == 1


def test_a_full_server_says_so_and_what_to_do(pg_server_url):
    """The server refuses a connection beyond its limit ("too many clients" at
    max_connections; here a role's CONNECTION LIMIT, the same refusal for one
    user): the officer is told the server is full, not that the settings are wrong."""
    import psycopg

    role = f"msafiri_full_{uuid.uuid4().hex[:8]}"
    name = f"msafiri_full_{uuid.uuid4().hex[:8]}"
    admin_url = pg_server.with_dbname(pg_server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        admin.execute(f"CREATE DATABASE {name} OWNER {role}")
        try:
            parts = urlsplit(pg_server.with_dbname(pg_server_url, name))
            url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
            with psycopg.connect(url):  # the one connection the role may hold
                line = one_line_refusal(
                    msafiri(url, "projections", "status"), "cannot connect to PostgreSQL"
                )
            assert "too many connections" in line, line
            assert "no free connection" in line and "max_connections" in line, line
            assert "MSAFIRI_DATABASE_URL is right" not in line, line
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_read_only_database_with_a_writer_at_work(read_only_copy):
    """Another account still writes (its write-ahead log is open beside the
    file): a read-only reader reads through it, committed rows included."""
    import sqlite3

    folder = read_only_copy.parent
    folder.chmod(0o755)
    read_only_copy.chmod(0o644)
    writer = sqlite3.connect(read_only_copy, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")  # rows stay in the log
        writer.execute("CREATE TABLE scratch (x)")
        assert (folder / "msafiri.db-wal").stat().st_size > 0
        for path in folder.iterdir():
            path.chmod(0o444)
        folder.chmod(0o555)
        verify = msafiri(sqlite_url(read_only_copy), *AUDITOR, "audit", "verify", plain_user=True)
        assert verify.returncode == 0 and verify.stderr == "", verify.stderr
        # A row committed now, only in the log, is seen by the next reader.
        writer.execute(
            "UPDATE rm_tracking SET failed_id = 1, error = 'seen through the log' "
            "WHERE projection = 'activity'"
        )
        status = msafiri(sqlite_url(read_only_copy), "projections", "status", plain_user=True)
        assert "Traceback" not in status.stdout + status.stderr
        assert "seen through the log" in status.stdout, status.stdout + status.stderr
    finally:
        folder.chmod(0o755)
        writer.close()


# --- settings added since: the master key, limits, time zone, backups ---------


def _copy_key(tmp_path: Path) -> Path:
    """The master key the demo database was sealed with (the children get no
    MSAFIRI_KEY_FILE: the default one), copied (0600)."""
    from msafiri.settings import default_key_file

    key = tmp_path / "copy.key"
    key.write_bytes(default_key_file().read_bytes())
    key.chmod(0o600)
    return key


def _key_open_to_others(tmp_path: Path) -> dict[str, str]:
    key = _copy_key(tmp_path)
    key.chmod(0o644)
    return {"MSAFIRI_KEY_FILE": str(key)}


def _key_is_a_folder(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    return {"MSAFIRI_KEY_FILE": str(folder)}


def _key_garbled(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "garbled.key"
    key.write_text("these are not keys\n")
    key.chmod(0o600)
    return {"MSAFIRI_KEY_FILE": str(key)}


BAD_SETTINGS = {
    "key file open to others": (_key_open_to_others, ("chmod 600",)),
    "key file is a folder": (_key_is_a_folder, ("key file", "Is a directory")),
    "key file garbled": (_key_garbled, ("key file", "line 1")),
    # Every other setting is checked by the same validation (one line naming
    # the variable); these stand for it.
    "master key not base64": (
        lambda _: {"MSAFIRI_MASTER_KEY": "not base64!!"},
        ("MSAFIRI_MASTER_KEY", "base64"),
    ),
    "batch size out of range": (
        lambda _: {"MSAFIRI_PROJECTION_BATCH_SIZE": "0"},
        ("MSAFIRI_PROJECTION_BATCH_SIZE",),
    ),
    "unknown time zone": (lambda _: {"MSAFIRI_TIMEZONE": "Mars/Base"}, ("MSAFIRI_TIMEZONE",)),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_a_bad_setting_is_one_line(demo_file, tmp_path, case):
    make, expected = BAD_SETTINGS[case]
    path = tmp_path / "msafiri.db"
    path.write_bytes(demo_file.read_bytes())
    result = msafiri(sqlite_url(path), "projections", "status", **make(tmp_path))
    one_line_refusal(result, *expected)
    assert path.read_bytes() == demo_file.read_bytes()


def test_a_missing_audit_public_key_file(demo_file, tmp_path):
    path = tmp_path / "msafiri.db"
    path.write_bytes(demo_file.read_bytes())
    missing = tmp_path / "no-such-public.pem"
    result = msafiri(
        sqlite_url(path), *AUDITOR, "audit", "verify", MSAFIRI_AUDIT_PUBLIC_KEY_FILE=str(missing)
    )
    one_line_refusal(result, "MSAFIRI_AUDIT_PUBLIC_KEY_FILE", str(missing))


@pytest.mark.parametrize("where", ["missing folder", "read-only folder"])
def test_a_backup_to_a_folder_it_cannot_write(demo_file, tmp_path, where):
    folder = tmp_path / "backups"
    if where == "read-only folder":
        folder.mkdir(mode=0o555)
    target = folder / "msafiri-backup.db"
    try:
        result = msafiri(sqlite_url(demo_file), "backup", "create", str(target), plain_user=True)
        line = one_line_refusal(result, str(target), str(folder))
        assert str(demo_file) not in line  # the database is fine: the target is not
        assert not target.exists()
    finally:
        if folder.exists():
            folder.chmod(0o755)
