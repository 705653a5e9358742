"""A full rebuild runs without the read models' query-only indexes and builds
them at the end, on SQLite and PostgreSQL: afterwards the catalogue holds
exactly the indexes the migrations made, also when the rebuild was killed
half-way and a later catch-up finished it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from projections.db import ReadModelDb
from projections.readmodels import ReadModels
from projections.runner import REBUILD_DEFERRED_INDEXES
from projections.schema import upgrade
from tests.test_projections_support import (
    assert_same,
    dump,
    read_model_tables,
    write_in_chunks,
)

ROOT = Path(__file__).resolve().parent.parent

# Rebuilds half the log in small pages, then dies by SIGKILL: no cleanup,
# no `finally`, the deferred indexes still missing.
KILLED_WORKER = """
import os, signal, sys
from projections.readmodels import ReadModels
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
url, until = sys.argv[1], int(sys.argv[2])
settings = Settings(database_url=url, projection_batch_size=40)
system = build_system(settings)  # the event store opens the sealed events
models = ReadModels(settings, system.database, system.store)
models.runner.reset(*models.names)
models.runner.run_once(until=until)
os.kill(os.getpid(), signal.SIGKILL)
"""


def indexes(database) -> list[tuple[str, str, str]]:
    db = ReadModelDb(database)
    try:
        return db.plain_indexes(read_model_tables())
    finally:
        db.close()


def deferred(database) -> list[tuple]:
    db = ReadModelDb(database)
    try:
        return db.fetchall("SELECT index_name, table_name FROM rm_deferred_indexes")
    finally:
        db.close()


def test_every_deferred_index_is_one_the_migrations_make(system):
    upgrade(system.database)
    found = {name for name, _, _ in indexes(system.database)}
    # A renamed index would silently stay in place during rebuilds.
    assert found >= REBUILD_DEFERRED_INDEXES
    # The projections look rows up through these while applying: kept.
    kept = {
        "rm_case_search_migrant",
        "rm_incidents_migrant",
        "rm_stats_incident_keys_migrant",
        "rm_disbursements_migrant",
    }
    assert not kept & REBUILD_DEFERRED_INDEXES
    # ...and they exist: a renamed one would pass the line above unseen.
    assert found >= kept


def test_a_rebuild_ends_with_exactly_the_indexes_it_started_with(system):
    upgrade(system.database)
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=40)
    models.catch_up()
    before_indexes, incremental = indexes(system.database), dump(system.database)

    models.rebuild()

    assert indexes(system.database) == before_indexes
    assert deferred(system.database) == []
    assert_same(incremental, dump(system.database))
    models.close()


def test_a_rebuild_of_one_projection_defers_only_its_own_indexes(system):
    upgrade(system.database)
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=10)
    models.catch_up()
    before_indexes = indexes(system.database)
    cases_tables = set(next(p for p in models.projections if p.name == "cases").tables)

    models.runner.reset("cases")

    held = deferred(system.database)
    assert held and {table for _, table in held} <= cases_tables
    missing = {name for name, _, _ in before_indexes} - {n for n, _, _ in indexes(system.database)}
    assert missing == {name for name, _ in held}
    models.catch_up()
    assert indexes(system.database) == before_indexes
    assert deferred(system.database) == []
    models.close()


def test_indexes_wait_for_the_rebuild_to_reach_the_head(system):
    upgrade(system.database)
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=20)
    models.catch_up()
    before_indexes = indexes(system.database)
    head = system.store.recorder.max_notification_id()

    models.runner.reset(*models.names)
    models.runner.run_once(until=head // 2)

    # Half-way: still without them (a resumed rebuild keeps its speed).
    assert {name for name, _ in deferred(system.database)} == (
        {name for name, _, _ in before_indexes} & REBUILD_DEFERRED_INDEXES
    )
    models.catch_up()
    assert indexes(system.database) == before_indexes
    assert deferred(system.database) == []
    models.close()


def test_a_rebuild_killed_half_way_is_finished_by_the_next_catch_up(system):
    upgrade(system.database)
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=40)
    models.catch_up()
    before_indexes, clean = indexes(system.database), dump(system.database)
    head = system.store.recorder.max_notification_id()

    worker = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, system.settings.database_url, str(head // 2)],
        cwd=ROOT,
        check=False,
    )

    assert worker.returncode == -signal.SIGKILL
    assert deferred(system.database) != []
    assert all(0 < s.position < head for s in models.status())
    # A restarted runner (a new process would build the same objects).
    models.close()
    restarted = ReadModels(system.settings, system.database, system.store)
    restarted.catch_up()
    assert indexes(system.database) == before_indexes
    assert deferred(system.database) == []
    assert_same(clean, dump(system.database))
    restarted.close()
