"""Normal operation writes no ERROR line into PostgreSQL's server log.

Monitoring watches that log; every CLI start used to write two (yoyo's
start-up probes, and the event store's recorder running CREATE TYPE and
probing a table that did not exist yet). A throwaway cluster of our own
logs to a file we read; a deliberate error at the end shows the log is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from msafiri.demo.officers import DEMO_PASSWORD
from tests import pg_server

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def logged_cluster():
    """A PostgreSQL cluster whose server log goes to a file: (url, log path)."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert binaries, "no PostgreSQL binaries (apt-get install postgresql)"
    bin_dir = binaries[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="msafiri-pglog-"))
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    as_user = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    if user:
        os.chown(folder, user.pw_uid, user.pw_gid)
    port = pg_server._free_port()
    log = folder / "server.log"
    process = None
    try:
        subprocess.run(
            [bin_dir / "initdb", "-D", folder / "data", "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
            **as_user,
        )
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [
                    bin_dir / "postgres",
                    "-D",
                    folder / "data",
                    "-p",
                    str(port),
                    "-k",
                    folder,
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "log_line_prefix=%m [%p] %d ",
                ],
                stdout=log_file,
                stderr=log_file,
                preexec_fn=pg_server._die_with_parent,
                **as_user,
            )
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while not pg_server._reachable(url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url, log
    finally:
        if process is not None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def msafiri(url: str, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSAFIRI_")}
    env |= {
        "MSAFIRI_DATABASE_URL": url,
        "MSAFIRI_OFFICER_PASSWORD": DEMO_PASSWORD,
        "MSAFIRI_KEY_FILE": os.environ["MSAFIRI_KEY_FILE"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "msafiri.cli.main", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def errors_of(log: Path, dbname: str) -> list[str]:
    return [
        line
        for line in log.read_text().splitlines()
        if f" {dbname} " in line and ("ERROR" in line or "FATAL" in line)
    ]


@pytest.mark.slow
def test_normal_operation_writes_no_error_into_the_server_log():
    with logged_cluster() as (server, log):
        url = pg_server.create_database(server)
        dbname = url.rsplit("/", 1)[1]
        msafiri(url, "db", "upgrade")  # a new database: every table created
        msafiri(url, "db", "upgrade")  # nothing to do
        msafiri(url, "demo", "--migrants", "20", "--json")
        msafiri(url, "projections", "status")
        auditor = ("--officer", "demo.auditor", "--role", "auditor")
        msafiri(url, *auditor, "audit", "verify")
        msafiri(url, *auditor, "audit", "who", "--officer", "demo.fund")
        msafiri(url, "projections", "rebuild", "--json")
        # What came since: need-to-know reads (logged, chained), the access
        # log, keys, statistics, a backup and its proof (pg_dump, and a
        # scratch database restored, verified and dropped).
        search = msafiri(url, *auditor, "case", "search", "--json")
        migrant_id = json.loads(search.stdout.splitlines()[0])["migrant_id"]
        msafiri(url, *auditor, "case", "show", migrant_id)
        msafiri(url, *auditor, "access", "who-viewed", migrant_id)
        msafiri(url, *auditor, "access", "by-officer", "demo.auditor")
        msafiri(url, *auditor, "access", "verify")
        msafiri(url, "keys", "status")
        msafiri(url, *auditor, "statistics", "tables")
        backup = Path(tempfile.mkdtemp(prefix="msafiri-pglog-backup-")) / "msafiri.dump"
        try:
            msafiri(url, "backup", "create", str(backup))
            key_file = os.environ["MSAFIRI_KEY_FILE"]
            msafiri(url, "backup", "verify", str(backup), "--key-file", key_file)
        finally:
            shutil.rmtree(backup.parent, ignore_errors=True)
        errors = errors_of(log, dbname)
        assert errors == []
        # The backup's scratch database (its own name) logged nothing either.
        scratch = [line for line in log.read_text().splitlines() if " msafiri_verify_" in line]
        assert not [line for line in scratch if "ERROR" in line or "FATAL" in line], scratch

        # The log does record errors: one of our own making shows up.
        with (
            psycopg.connect(url, autocommit=True) as conn,
            contextlib.suppress(psycopg.errors.UndefinedTable),
        ):
            conn.execute("SELECT * FROM no_such_table_here")
        deadline = time.monotonic() + 10
        while "no_such_table_here" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        errors = [
            line
            for line in log.read_text().splitlines()
            if f" {dbname} " in line and "ERROR" in line
        ]
        assert len(errors) == 1 and "no_such_table_here" in errors[0], errors
