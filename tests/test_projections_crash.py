"""Crash test on PostgreSQL: a rebuild killed with SIGKILL at random moments,
again and again, then resumed, ends equal to a clean rebuild - nothing lost,
nothing applied twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msafiri.bootstrap import build_system
from msafiri.settings import Settings, parse_database_url
from projections.readmodels import ReadModels
from projections.schema import upgrade
from tests import pg_server
from tests.test_projections_support import assert_same, dump, write_in_chunks

ROOT = Path(__file__).resolve().parent.parent

# A worker that rebuilds (or resumes) the read models in small pages, so a
# random kill lands inside a transaction far more often than between runs.
WORKER = """
import sys
from projections.readmodels import ReadModels
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
url, mode = sys.argv[1], sys.argv[2]
settings = Settings(database_url=url, projection_batch_size=40)
system = build_system(settings)  # the event store opens the sealed events
models = ReadModels(settings, system.database, system.store)
models.runner  # connect first, then say so
print("ready", flush=True)
models.rebuild() if mode == "rebuild" else models.catch_up()
print("done", flush=True)
"""


@pytest.fixture
def pg_url(pg_server_url):
    url = pg_server.create_database(pg_server_url)
    try:
        yield url
    finally:
        pg_server.drop_database(pg_server_url, url)


def positions(models: ReadModels) -> dict[str, int]:
    return {s.name: s.position for s in models.status()}


def test_rebuild_killed_at_random_moments_equals_a_clean_rebuild(pg_url):
    settings = Settings(database_url=pg_url)
    # The composition root refuses a PostgreSQL schema that is behind.
    upgrade(parse_database_url(pg_url))
    system = build_system(settings)
    # Big enough that a rebuild in pages of 40 takes seconds (kills land
    # mid-run), small enough that ten kills and two rebuilds stay short in CI.
    write_in_chunks(system, None, chunks=1, migrants=600)
    head = system.store.recorder.max_notification_id()
    models = ReadModels(settings, system.database, system.store)
    rng = random.Random(os.environ.get("MSAFIRI_CRASH_SEED", "4"))

    def start(mode: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, pg_url, mode],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        return worker

    # Kill moments are drawn within the time a whole rebuild takes on this
    # machine, so the test kills mid-run on a fast machine and a slow one.
    # (Timed from "ready": a worker's start-up is not part of the rebuild.)
    first = start("rebuild")
    began = time.monotonic()
    assert first.wait(timeout=600) == 0
    whole = time.monotonic() - began

    kills, midway, runs = 0, 0, 0
    while kills < 10:
        runs += 1
        assert runs < 60, "the worker kept finishing before the kill"
        mode = "rebuild" if runs % 4 == 1 else "resume"
        worker = start(mode)
        try:
            worker.wait(timeout=rng.uniform(0.02, max(0.1, 0.9 * whole)))
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            after = positions(models)
            midway += any(0 < p < head for p in after.values())
        else:
            assert worker.returncode == 0

    # Killed at least ten times, several of them in the middle of the log.
    assert kills >= 10 and midway >= 3
    # Resume to the end, then compare with a rebuild from nothing.
    models.catch_up()
    assert set(positions(models).values()) == {head}
    resumed = dump(system.database)
    models.rebuild()
    assert_same(resumed, dump(system.database))
    models.close()
    system.close()
