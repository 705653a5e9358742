"""Find a PostgreSQL server for the tests, never skipping silently.

Order: MSAFIRI_TEST_DATABASE_URL (a server URL; each run creates and drops its
own databases on it); the server at 127.0.0.1:5432; a throwaway cluster
started from the installed binaries as the `postgres` user (initdb refuses
root). If none works, fail loudly with the command that starts one.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg

START_COMMAND = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=3, autocommit=True).close()
        return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the throwaway server dies with the test process.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class ThrowawayCluster:
    """A cluster of its own in a temporary folder, on a free port. With
    `standby_of`, a streaming replica of that cluster (pg_basebackup -R)."""

    def __init__(
        self, standby_of: ThrowawayCluster | None = None, settings: dict[str, str] | None = None
    ) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError(
                "no PostgreSQL for the tests: set MSAFIRI_TEST_DATABASE_URL, start the "
                f"local server ({START_COMMAND}) or install it (apt-get install postgresql)"
            )
        self.bin = os.path.dirname(binaries[-1])
        self.dir = tempfile.mkdtemp(prefix="msafiri-pg-")
        self.port = _free_port()
        user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        kwargs = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
        if user:
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        data = os.path.join(self.dir, "data")
        if standby_of is None:
            setup = [f"{self.bin}/initdb", "-D", data, "-U", "postgres", "-A", "trust"]
        else:
            # A copy of the primary that streams its WAL from it (-R writes
            # primary_conninfo and standby.signal); initdb's pg_hba.conf
            # trusts replication connections from 127.0.0.1.
            setup = [
                f"{self.bin}/pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(standby_of.port),
                "-U",
                "postgres",
                "-D",
                data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ]
        subprocess.run(setup, check=True, capture_output=True, **kwargs)
        self.process = subprocess.Popen(
            [
                f"{self.bin}/postgres",
                "-D",
                data,
                "-p",
                str(self.port),
                "-k",
                self.dir,
                *(
                    f"-c{name}={value}"
                    for name, value in {
                        "listen_addresses": "127.0.0.1",
                        "fsync": "off",  # tests: nothing to keep after a crash
                        **(settings or {}),
                    }.items()
                ),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            **kwargs,
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 30
        while not _reachable(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the throwaway PostgreSQL cluster did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def server_url() -> tuple[str, ThrowawayCluster | None]:
    """A URL of a server the tests may create databases on."""
    configured = os.environ.get("MSAFIRI_TEST_DATABASE_URL")
    if configured:
        if not _reachable(configured):
            raise RuntimeError(f"MSAFIRI_TEST_DATABASE_URL={configured} is not reachable")
        return configured, None
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _reachable(local):
        return local, None
    cluster = ThrowawayCluster()
    return cluster.url, cluster


def with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def create_database(server: str) -> str:
    dbname = f"msafiri_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}" STRATEGY FILE_COPY')
    return with_dbname(server, dbname)


def drop_database(server: str, url: str) -> None:
    dbname = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
