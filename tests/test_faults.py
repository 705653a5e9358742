"""Fault tests: the workers ride out outages of their servers.

The outage test starts its OWN throwaway PostgreSQL cluster and two
nats-servers (never the shared ones on 5432/4222), runs every worker as a
subprocess - `projections run` (read models, fund process, audit chain) and
`nats publish --follow`, each on an idle and on a busy database (writers
adding events before, during and after) - and stops PostgreSQL the hard way
(SIGQUIT to the postmaster) and kills one nats-server, at the same moment,
for 20 s. It then checks that each worker said one line when its server went
and one when it came back, never exited, and that what it built equals a
clean rebuild (read models) or the publishable log (the NATS streams).
SIGTERM ends the workers with exit code 0, in the middle of the outage too.

Outages last 20 s, as the issue asks: long enough for the backoff to have
doubled several times (0.5 s up to a 30 s cap), so the workers must really
wait and reconnect afresh, not ride a quick blip (psycopg's pool, which gives
up reconnecting after 5 minutes, is checked and grown again after every
outage). All workers and both the idle and the busy case share ONE outage,
so the file pays 20 s once, not once per worker and case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from integration.publisher import publisher_status
from msafiri.bootstrap import System, build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate, populate_with_fund
from msafiri.settings import Settings, parse_database_url
from projections.db import ReadModelDb
from projections.outage import CONFLICT, CONNECTION, classify, reopen_store_connections
from projections.readmodels import ReadModels
from projections.schema import upgrade
from tests import nats_server, pg_server
from tests.test_nats import (
    _setup,
    assert_exactly_once_in_log_order,
    log_ids,
    read_stream,
    unique_nats_settings,
)
from tests.test_projections_support import assert_same, dump

ROOT = Path(__file__).resolve().parent.parent

# As the issue asks (see the docstring).
OUTAGE_SECONDS = 20

GONE = re.compile(r"unavailable \(.*\); retrying with backoff")
BACK = re.compile(r"back after [0-9.]+ s; resuming")


# --- what counts as an outage -----------------------------------------------------


def _raised(call) -> BaseException:
    try:
        call()
    except BaseException as error:
        return error
    raise AssertionError("nothing was raised")


def test_sqlite_errors_are_classified_by_code_not_by_class(tmp_path):
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("CREATE TABLE t (a INTEGER)")
        holder.execute("BEGIN IMMEDIATE")
        locked = _raised(lambda: other.execute("INSERT INTO t VALUES (1)"))
        holder.execute("ROLLBACK")
        missing_table = _raised(lambda: other.execute("SELECT * FROM nope"))
        missing_column = _raised(lambda: other.execute("SELECT nope FROM t"))
    finally:
        holder.close()
        other.close()
    # All three are sqlite3.OperationalError; only the lock is transient.
    assert {type(e) for e in (locked, missing_table, missing_column)} == {sqlite3.OperationalError}
    assert classify(locked) == CONFLICT
    assert classify(missing_table) is None and classify(missing_column) is None
    # The same, wrapped by eventsourcing's recorder (its error, the driver's cause).
    from eventsourcing.persistence import OperationalError as Wrapped

    def wrapped(cause: BaseException) -> BaseException:
        try:
            raise Wrapped(str(cause)) from cause
        except Wrapped as error:
            return error

    assert classify(wrapped(locked)) == CONFLICT
    assert classify(wrapped(missing_table)) is None


def test_postgresql_errors_are_classified(pg_server_url):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    refused = _raised(
        lambda: psycopg.connect(f"postgresql://postgres@127.0.0.1:{closed_port}/x").close()
    )
    assert classify(refused) == CONNECTION
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        assert classify(_raised(lambda: conn.execute("SELECT * FROM no_such_table"))) is None
        assert classify(_raised(lambda: conn.execute("SELECT 9223372036854775807 + 1"))) is None
        # An OperationalError by psycopg's mapping (class 54), yet a value.
        conn.execute("CREATE TEMP TABLE big (a text)")
        conn.execute("CREATE INDEX ON big (a)")
        too_big = _raised(
            lambda: conn.execute(
                "INSERT INTO big SELECT string_agg(md5(i::text), '') "
                "FROM generate_series(1, 400) AS i"
            )
        )
        assert isinstance(too_big, psycopg.OperationalError) and too_big.sqlstate == "54000"
        assert classify(too_big) is None
        with psycopg.connect(pg_server_url) as holder:
            holder.execute("SELECT pg_advisory_lock(4242)")
            conn.execute("SET statement_timeout = '50ms'")
            timeout = _raised(lambda: conn.execute("SELECT pg_advisory_lock(4242)"))
            holder.execute("SELECT pg_advisory_unlock(4242)")
        assert classify(timeout) == CONFLICT


def test_a_data_key_read_survives_its_connection_dying(pg_server_url):
    """The per-migrant data keys keep a connection of their own. One that
    died with the server (here: ended by the server) fails once when next
    used; it is replaced at once rather than reported as a second outage
    after the database was back."""
    url = pg_server.create_database(pg_server_url)
    try:
        upgrade(parse_database_url(url))
        system = build_system(Settings(database_url=url))
        try:
            populate(system.store, ensure_demo_officers(system), 3, 1, workers=0)
            keys = system.store.mapper.data_keys
            refs = [r for (r,) in ReadModelDb(system.database).fetchall(
                "SELECT key_ref FROM data_keys")]  # fmt: skip
            assert keys.for_reading(refs[0]) is not None  # its connection is open now
            with psycopg.connect(pg_server_url, autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (url.rsplit("/", 1)[1],),
                ).fetchall()
            assert ended
            keys.forget_cached()
            assert keys.for_reading(refs[1]) is not None
        finally:
            system.close()
    finally:
        pg_server.drop_database(pg_server_url, url)


# --- a PostgreSQL cluster of our own that can be stopped the hard way --------------


class Cluster(pg_server.ThrowawayCluster):
    """tests/pg_server.py's throwaway cluster (initdb as the postgres user, a
    free port, dies with the test), plus an immediate stop and a restart on
    the same port and data directory."""

    def _server_args(self) -> tuple[list[str], dict]:
        user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        kwargs = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
        args = [
            f"{self.bin}/postgres",
            "-D", os.path.join(self.dir, "data"),
            "-p", str(self.port),
            "-k", self.dir,
            "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off",
        ]  # fmt: skip
        return args, kwargs

    def stop_immediately(self) -> None:
        """What `pg_ctl stop -m immediate` does: SIGQUIT to the postmaster,
        every backend gone at once, no checkpoint (crash recovery on start)."""
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(30)

    def start_again(self) -> None:
        args, kwargs = self._server_args()
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pg_server._die_with_parent,
            **kwargs,
        )
        deadline = time.monotonic() + 60
        while not pg_server._reachable(self.url):
            assert self.process.poll() is None, "the cluster did not restart"
            assert time.monotonic() < deadline, "the cluster did not restart in 60 s"
            time.sleep(0.2)


@pytest.fixture
def cluster():
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


# --- helpers ---------------------------------------------------------------------------


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSAFIRI_")}
    # The workers open the sealed events with the tests' master key.
    env["MSAFIRI_KEY_FILE"] = os.environ["MSAFIRI_KEY_FILE"]
    env.update(values)
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "msafiri.cli.main", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
        )


def _lines(log: Path, pattern: re.Pattern) -> list[str]:
    return [line for line in log.read_text().splitlines() if pattern.search(line)]


def _wait(
    condition, seconds: float, what: str, *workers: subprocess.Popen, behind: list | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        for worker in workers:
            if worker.poll() is not None:
                raise AssertionError(f"a worker exited ({worker.returncode}) while {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {seconds} s: {behind or ''}")
        time.sleep(0.2)


def _terminate(worker: subprocess.Popen, log: Path) -> str:
    """SIGTERM: the worker finishes the page in hand and exits 0."""
    worker.send_signal(signal.SIGTERM)
    try:
        out, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, log.read_text()
    return out.decode()


class Writers:
    """A thread adding demo cases (with incidents, assistance requests: work
    for the fund process) until stopped; it waits out outages itself."""

    def __init__(self, system, actors, pause: float = 0.0):
        self.system, self.actors, self.pause = system, actors, pause
        self.stop = threading.Event()
        self.batches = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seed = 1000
        while not self.stop.is_set():
            seed += 1
            try:
                populate(self.system.store, self.actors, 5, seed, workers=0)
                self.batches += 1
                self.stop.wait(self.pause)
            except Exception:  # the server is away: try again shortly
                self.stop.wait(0.3)

    def start(self) -> Writers:
        self.thread.start()
        return self

    def join(self) -> None:
        self.stop.set()
        self.thread.join(60)


def _write_until_it_works(system, actors, migrants: int) -> None:
    """Events after the outage (the test's pool first drops the connections
    that died with the server, one failed attempt each)."""
    for attempt in range(40):
        try:
            populate(system.store, actors, migrants, 2 + attempt, workers=0)
            return
        except Exception:
            time.sleep(0.3)
    raise AssertionError("could not write after the outage")


def _caught_up(system) -> bool:
    """Every projection, the fund process and the audit chain at the head
    (asked on a fresh connection: the test's own died with the server too).
    The fund process may itself write (lapsing the demo's overdue requests),
    so the head is read afresh each time."""
    try:
        db = ReadModelDb(system.database)
        try:
            head = db.max_notification_id()
            tracking = db.fetchall("SELECT position, failed_id FROM rm_tracking")
        finally:
            db.close()
        chain = system.audit.head()
        return (
            head > 0
            and all(int(p) == head and f is None for p, f in tracking)
            and system.fund_process.lag() == 0
            and chain is not None
            and chain.position == head
        )
    except Exception:  # the server is still away, or the pool's connections died
        with contextlib.suppress(Exception):
            reopen_store_connections(system.store)
        return False


def _published(system) -> bool:
    try:
        status = publisher_status(system)
    except Exception:  # the database is still away, or the pool's connections died
        with contextlib.suppress(Exception):
            reopen_store_connections(system.store)
        return False
    return status.head > 0 and status.lag == 0


def _nats_env(settings, **extra: str) -> dict[str, str]:
    return _env(
        MSAFIRI_DATABASE_URL=settings.database_url,
        MSAFIRI_NATS_URL=settings.nats_url,
        MSAFIRI_NATS_STREAM=settings.nats_stream,
        MSAFIRI_NATS_SUBJECT_PREFIX=settings.nats_subject_prefix,
        MSAFIRI_PROJECTION_BATCH_SIZE="50",
        **extra,
    )


@dataclass
class Database:
    """One database the test writes to, with its own NATS stream."""

    settings: Settings
    system: System
    actors: dict


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def said(self, pattern: re.Pattern) -> int:
        return len(_lines(self.log, pattern))


def _pg_database(cluster: Cluster, nats, seed: int, opened: list) -> Database:
    url = pg_server.create_database(cluster.url)
    upgrade(parse_database_url(url))
    settings = unique_nats_settings(Settings(database_url=url, projection_batch_size=50), nats.url)
    asyncio.run(_setup(settings))
    system = build_system(settings)
    opened.append(system)
    actors = ensure_demo_officers(system)
    # A fund, so that the fund process has assistance requests to forward.
    populate_with_fund(system, actors, 20, seed, workers=0)
    return Database(settings, system, actors)


def _sqlite_database(path: Path, nats, seed: int, opened: list) -> Database:
    settings = unique_nats_settings(Settings(database_url=f"sqlite:///{path}"), nats.url)
    asyncio.run(_setup(settings))
    system = build_system(settings)
    opened.append(system)
    actors = ensure_demo_officers(system)
    populate(system.store, actors, 10, seed, workers=0)
    return Database(settings, system, actors)


# --- one outage of PostgreSQL and of NATS, every worker idle or busy ---------------------


@pytest.mark.slow
def test_every_worker_rides_out_one_outage_idle_and_busy(cluster, tmp_path):
    """PostgreSQL is stopped immediately and a nats-server killed, both for
    20 s, while each worker runs idle (nothing written to its database) and
    busy (writers adding events before, during and after):

    - `projections run` (the read models, the fund process, the audit chain)
      on an idle and on a busy PostgreSQL database;
    - `nats publish --follow` on those two databases (its NATS stays up:
      the database goes);
    - `nats publish --follow` on an idle and on a busy SQLite database whose
      nats-server is the one killed.

    One more `projections run` and one more publisher get SIGTERM in the
    middle of the outage and exit 0 at once."""
    steady = nats_server.start_single(tmp_path / "nats-steady")
    flaky = nats_server.start_single(tmp_path / "nats-flaky")
    opened: list = []
    workers: list[Worker] = []
    writers: list[Writers] = []
    try:
        pg_idle = _pg_database(cluster, steady, 1, opened)
        pg_busy = _pg_database(cluster, steady, 2, opened)
        sq_idle = _sqlite_database(tmp_path / "idle.db", flaky, 3, opened)
        sq_busy = _sqlite_database(tmp_path / "busy.db", flaky, 4, opened)
        # A publisher of its own stream on the idle SQLite file, to be stopped.
        term_settings = unique_nats_settings(sq_idle.settings, flaky.url)
        asyncio.run(_setup(term_settings))
        term_system = build_system(term_settings)
        opened.append(term_system)

        def start(name: str, args: list[str], env: dict[str, str]) -> Worker:
            log = tmp_path / f"{name}.log"
            worker = Worker(name, _start(args, env, log), log)
            workers.append(worker)
            return worker

        follow = ["nats", "publish", "--follow", "--json", "--page-size", "50"]
        projections = {
            "idle": start("projections-idle", ["projections", "run"], _nats_env(pg_idle.settings)),
            "busy": start("projections-busy", ["projections", "run"], _nats_env(pg_busy.settings)),
        }
        publishers_pg = {
            "idle": start("publisher-pg-idle", follow, _nats_env(pg_idle.settings)),
            "busy": start("publisher-pg-busy", follow, _nats_env(pg_busy.settings)),
        }
        publishers_nats = {
            "idle": start("publisher-nats-idle", follow, _nats_env(sq_idle.settings)),
            "busy": start("publisher-nats-busy", follow, _nats_env(sq_busy.settings)),
        }
        # A second worker on one database is safe (docs/operations.md).
        projections_term = start(
            "projections-term", ["projections", "run"], _nats_env(pg_idle.settings)
        )
        publisher_term = start("publisher-term", follow, _nats_env(term_settings))
        running = [w.process for w in workers]

        def all_current() -> bool:
            """Every follower of the four databases at its head (not the
            publisher stopped in the outage: its stream stays behind)."""
            behind.clear()
            behind.extend(f"projections on {n}" for n, d in pg.items() if not _caught_up(d.system))
            behind.extend(f"publisher on {n}" for n, d in every.items() if not _published(d.system))
            return not behind

        behind: list[str] = []
        pg = {"pg_idle": pg_idle, "pg_busy": pg_busy}
        every = pg | {"sq_idle": sq_idle, "sq_busy": sq_busy}
        _wait(
            lambda: all_current() and _published(term_system),
            180, "caught up and published at the start", *running, behind=behind,
        )  # fmt: skip
        _wait(
            lambda: "following the event log" in projections_term.log.read_text(),
            60, "following", *running,
        )  # fmt: skip

        writers = [Writers(pg_busy.system, pg_busy.actors).start(),
                   Writers(sq_busy.system, sq_busy.actors, pause=0.5).start()]  # fmt: skip
        _wait(lambda: all(w.batches >= 2 for w in writers), 120, "writing", *running)
        batches = [w.batches for w in writers]

        # The outage: both servers go at once, the busy workers in mid-page.
        gone_at = time.monotonic()
        cluster.stop_immediately()
        flaky.kill()
        # SIGTERM while waiting out the outage: exit 0 at once.
        for worker in (projections_term, publisher_term):
            _wait(lambda w=worker: w.said(GONE) == 1, 60, f"{worker.name} said it is gone")
            _terminate(worker.process, worker.log)
            assert "Traceback" not in worker.log.read_text()
        workers = [w for w in workers if w not in (projections_term, publisher_term)]
        running = [w.process for w in workers]
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - gone_at)))
        for worker in workers:
            assert worker.process.poll() is None, f"{worker.name} exited in the outage"
        cluster.start_again()
        flaky.start()
        flaky.wait_healthy()

        _wait(
            lambda: all(w.batches >= b + 3 for w, b in zip(writers, batches, strict=True)),
            120, "writing again", *running,
        )  # fmt: skip
        for w in writers:
            w.join()
        # The idle workers get work only now that their server is back.
        _write_until_it_works(pg_idle.system, pg_idle.actors, 10)
        populate(sq_idle.system.store, sq_idle.actors, 5, 5, workers=0)
        _wait(all_current, 240, "caught up and published after the outage", *running, behind=behind)

        # One line when the server went, one when it came back, for each.
        for worker in (*projections.values(), *publishers_nats.values()):
            assert worker.said(GONE) == 1, worker.log.read_text()
            _wait(lambda w=worker: w.said(BACK) == 1, 30, f"{worker.name} said it is back")
        # The publisher reads the log through the event store, whose recorder
        # itself retries a read for up to ~30 s (10 attempts, each waiting for
        # a pooled connection): the outage may pass without a line. If it was
        # reported, it was reported once, and its end too.
        for worker in publishers_pg.values():
            assert worker.said(GONE) <= 1, worker.log.read_text()
            if worker.said(GONE):
                assert "database unavailable" in _lines(worker.log, GONE)[0]
                _wait(lambda w=worker: w.said(BACK) == 1, 30, f"{worker.name} said it is back")

        said = {w.name: w.said(GONE) for w in workers}
        outputs = {w.name: _terminate(w.process, w.log) for w in workers}
        for worker in workers:
            # Nothing more said on the way out (closing is not losing anything).
            assert worker.said(GONE) == said[worker.name], worker.log.read_text()
            assert "Traceback" not in worker.log.read_text()

        # Every read model equals a clean rebuild.
        for database in (pg_idle, pg_busy):
            system = database.system
            incremental = dump(system.database)
            read_models = ReadModels(system.settings, system.database, system.store)
            read_models.rebuild()
            read_models.close()
            assert_same(incremental, dump(system.database))
        # Every stream holds the publishable log, once, in log order.
        for database, worker in (
            (pg_idle, publishers_pg["idle"]),
            (pg_busy, publishers_pg["busy"]),
            (sq_idle, publishers_nats["idle"]),
            (sq_busy, publishers_nats["busy"]),
        ):
            summary = json.loads(outputs[worker.name])
            assert summary["position"] == database.system.store.recorder.max_notification_id()
            assert_exactly_once_in_log_order(database.system, read_stream(database.settings))
            assert len(log_ids(database.system)) > 0
    except BaseException:
        for worker in workers:  # what each said, for the failure report
            print(f"--- {worker.name}\n{worker.log.read_text()[-3000:]}")
        raise
    finally:
        for w in writers:
            w.join()
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
        for system in opened:
            system.close()
        steady.stop()
        flaky.stop()


# --- a projection that cannot apply an event stops alone (SQLite) -------------------------


@pytest.mark.slow
def test_a_missing_table_stops_only_its_projection(tmp_path):
    # Issue 13, item 3: on SQLite any OperationalError counted as "database
    # unavailable", so one read model's missing table stopped all of them.
    url = f"sqlite:///{tmp_path / 'msafiri.db'}"
    settings = Settings(database_url=url)
    system = build_system(settings)
    try:
        populate(system.store, ensure_demo_officers(system), 10, 3, workers=0)
        db = ReadModelDb(system.database)
        db.execute("DROP TABLE rm_activity")
        db.close()
        env = _env(MSAFIRI_DATABASE_URL=url)
        log = tmp_path / "worker.log"
        worker = _start(["projections", "run"], env, log)

        def others_done() -> bool:
            # The fund process may itself write (lapsing the demo's overdue
            # requests), so "the head" is read afresh each time, and the audit
            # chain and the fund process must have reached it too.
            head = system.store.recorder.max_notification_id()
            rows = {r.name: r for r in system.read_models.status()}
            chain = system.audit.head()
            return (
                rows["activity"].failed_id is not None
                and all(r.position >= head for n, r in rows.items() if n != "activity")
                and chain is not None
                and chain.position >= head
                and system.fund_process.lag() == 0
            )

        try:
            _wait(others_done, 60, "the other projections at the head", worker)
            _terminate(worker, log)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert "projection activity stopped at event" in log.read_text()
        assert not _lines(log, GONE)
        # The audit chain and the fund process went on too (the fund process
        # may itself have written since: lapsing the demo's overdue requests).
        chain = system.audit.head()
        assert chain is not None and chain.position == system.store.recorder.max_notification_id()
        assert system.fund_process.lag() == 0

        status = subprocess.run(
            [sys.executable, "-m", "msafiri.cli.main", "projections", "status"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert status.returncode == 3, status.stderr
        assert re.search(r"activity .*STOPPED at event \d+: OperationalError: no such table",
                         status.stdout), status.stdout  # fmt: skip
        as_json = subprocess.run(
            [sys.executable, "-m", "msafiri.cli.main", "projections", "status", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert as_json.returncode == 3
        rows = {r["name"]: r for r in json.loads(as_json.stdout)}
        assert rows["activity"]["stopped"] is True
        assert 0 < rows["activity"]["failed_id"] <= system.store.recorder.max_notification_id()
        assert rows["activity"]["position"] == rows["activity"]["failed_id"] - 1
        assert not any(r["stopped"] for n, r in rows.items() if n != "activity")
    finally:
        system.close()
