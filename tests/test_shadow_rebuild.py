"""A shadow rebuild (`msafiri projections rebuild --shadow`) on SQLite and
PostgreSQL: while it builds, reads see the live tables; the swap is one
transaction; afterwards the read models equal a clean rebuild; a rebuild
killed at any moment leaves the live tables as they were."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msafiri.bootstrap import ShadowParts
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from projections.db import ReadModelDb
from projections.readmodels import ReadModels
from projections.shadow import ShadowRebuild, ShadowRebuildFailed
from tests.test_projections_support import (
    assert_same,
    dump,
    read_model_tables,
    write_in_chunks,
)

ROOT = Path(__file__).resolve().parent.parent

# What a person sees in the live tables and a rebuild can never make: a
# mark on two projections' tables, so a half-done swap would show.
MARK = "LIVE "
MARKED = (("rm_cases", "full_name"), ("rm_officers", "full_name"))


def mark_live(database) -> None:
    db = ReadModelDb(database)
    try:
        with db.transaction():
            for table, column in MARKED:
                db.execute(f"UPDATE {table} SET {column} = ? || {column}", (MARK,))
    finally:
        db.close()


def marks(database) -> dict[str, bool]:
    """Per marked table: does every row carry the mark (True), none (False)?"""
    db = ReadModelDb(database)
    try:
        found = {}
        for table, column in MARKED:
            rows = [r[0] for r in db.fetchall(f"SELECT {column} FROM {table}")]
            assert rows, table
            marked = {name.startswith(MARK) for name in rows}
            assert len(marked) == 1, f"{table}: some rows marked, some not"
            found[table] = marked.pop()
        return found
    finally:
        db.close()


def catalogue(database) -> tuple[list, list]:
    """The read models' indexes and any table left by a shadow rebuild."""
    db = ReadModelDb(database)
    try:
        if db.is_postgres:
            tables = db.fetchall(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            index_names = db.fetchall(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            )
        else:
            tables = db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
            index_names = db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")
        leftovers = sorted(t[0] for t in tables if t[0].endswith("__shadow"))
        names = sorted(i[0] for i in index_names if i[0].startswith("rm_"))
        return db.plain_indexes(read_model_tables()) + names, leftovers
    finally:
        db.close()


def test_reads_see_the_live_tables_until_the_swap_then_a_clean_rebuild(system):
    models = ReadModels(system.settings, system.database, system.store)
    actors = ensure_demo_officers(system)
    write_in_chunks(system, models, chunks=1, migrants=30)
    models.catch_up()
    indexes, _ = catalogue(system.database)
    mark_live(system.database)
    live = dump(system.database)
    shadow = ShadowRebuild(models, models.names, batch_size=25)
    seen: list[str] = []

    def during_build(position: int, head: int) -> None:
        # An officer searches: the live (marked) names, every page of the build.
        page = models.queries.search_cases("")
        seen.extend(row.full_name for row in page.rows)
        if len(seen) == len(page.rows):
            # ...and keeps working: written after the build began.
            populate_with_fund(system, actors, 3, seed=7, workers=0)

    shadow.lock()
    shadow.prepare()
    shadow.build(during_build)
    assert seen and all(name.startswith(MARK) for name in seen)
    # Built, not swapped: the live tables are exactly as they were.
    assert marks(system.database) == {"rm_cases": True, "rm_officers": True}
    assert_same(
        {k: v for k, v in live.items() if k != "rm_tracking"},
        {k: v for k, v in dump(system.database).items() if k != "rm_tracking"},
    )
    positions = shadow.swap()
    shadow.close()

    assert marks(system.database) == {"rm_cases": False, "rm_officers": False}
    assert {s.name: s.position for s in models.status()} == positions
    assert not any(row.full_name.startswith(MARK) for row in models.queries.search_cases("").rows)
    models.catch_up()  # what was written during the build, by the live runner
    swapped = dump(system.database)
    assert catalogue(system.database) == (indexes, [])
    models.rebuild()
    assert_same(dump(system.database), swapped)
    models.close()


def test_a_build_split_across_processes_equals_a_clean_rebuild(system):
    """PostgreSQL: `processes=2` fills the shadow tables in two processes of
    their own (msafiri/shadow_parts.py), then swaps; SQLite (one writer at a
    time) builds in this process and never starts a part."""
    models = ReadModels(system.settings, system.database, system.store)
    ensure_demo_officers(system)
    write_in_chunks(system, models, chunks=1, migrants=30)
    models.catch_up()
    models.rebuild()
    clean = dump(system.database)
    indexes, _ = catalogue(system.database)
    mark_live(system.database)
    started: list[list[list[str]]] = []
    real = ShadowParts(system.settings.model_copy(update={"projection_batch_size": 25}))

    def parts(groups, head, report, stop=None) -> int:
        started.append(groups)
        return real(groups, head, report, stop)

    models.shadow_parts = parts
    seen: list[tuple[int, int]] = []
    models.rebuild_shadow(progress=lambda at, head: seen.append((at, head)), processes=2)

    assert marks(system.database) == {"rm_cases": False, "rm_officers": False}
    assert_same(clean, dump(system.database))
    assert catalogue(system.database) == (indexes, [])
    if system.database.backend == "postgresql":
        (groups,) = started
        assert len(groups) == 2
        assert sorted(n for group in groups for n in group) == sorted(models.names)
        # The heaviest projection is alone with the lighter ones.
        assert not {"cases", "statistics"} <= set(groups[0])
        assert seen and seen[-1][0] == seen[-1][1]  # progress reached the head
    else:
        assert started == []
    models.close()


def test_a_database_whose_read_models_never_ran(system):
    """No live runner has made the tracking rows yet (events written, read
    models never caught up - or a read model new in this release): the swap
    must record the shadow's positions anyway, or the next runner applies
    the whole log again onto the swapped tables."""
    write_in_chunks(system, None, chunks=1, migrants=10)
    models = ReadModels(system.settings, system.database, system.store)
    db = ReadModelDb(system.database)
    try:
        assert db.fetchall("SELECT projection FROM rm_tracking") == []
    finally:
        db.close()
    read = models.rebuild_shadow()
    assert read == system.store.recorder.max_notification_id()
    status = models.status()
    assert {s.name for s in status} == set(models.names)
    assert all(s.failed_id is None and s.lag == 0 for s in status), status
    assert models.catch_up() == 0
    clean = dump(system.database)
    models.rebuild()
    assert_same(clean, dump(system.database))
    models.close()


def test_a_part_that_fails_leaves_the_live_tables(system):
    if system.database.backend != "postgresql":
        # The CLI refuses --processes on SQLite (tests/test_cli_projections.py).
        assert ShadowRebuild(
            ReadModels(system.settings, system.database, system.store),
            ["cases", "timeline"],
            processes=2,
            parts=lambda *args: pytest.fail("SQLite must not start parts"),
        ).split(2) == [["cases"], ["timeline"]]
        return
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=10)
    models.catch_up()
    mark_live(system.database)
    marked = dump(system.database)
    # The parts cannot open the database: each says so, the build stops.
    gone = system.settings.database_url.rsplit("/", 1)[0] + "/msafiri_no_such_database"
    models.shadow_parts = ShadowParts(system.settings.model_copy(update={"database_url": gone}))
    with pytest.raises(ShadowRebuildFailed, match="msafiri_no_such_database"):
        models.rebuild_shadow(processes=2)
    assert_same(marked, dump(system.database))
    assert catalogue(system.database)[1] == []  # the shadow tables were dropped
    models.close()


def test_one_projection_and_a_dead_runs_leftovers(system):
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=15)
    models.catch_up()
    indexes, _ = catalogue(system.database)
    clean = dump(system.database)
    # A shadow rebuild that died after preparing: its tables are still there.
    dead = ShadowRebuild(models, ["officers"])
    dead.prepare()
    dead.runner.run_once()
    dead.close()
    assert catalogue(system.database)[1] == ["rm_officers__shadow", "rm_tracking__shadow"]
    mark_live(system.database)

    models.rebuild_shadow("cases")

    # Only the cases' tables were swapped; the officers' kept their mark.
    assert marks(system.database) == {"rm_cases": False, "rm_officers": True}
    assert catalogue(system.database) == (indexes, [])
    after = dump(system.database)
    assert_same(
        {k: v for k, v in after.items() if k != "rm_officers"},
        {k: v for k, v in clean.items() if k != "rm_officers"},
    )
    models.close()


def test_the_shadow_tables_are_analyzed_as_they_grow(system, monkeypatch):
    """PostgreSQL: a shadow table never analyzed has its key loads planned
    as whole-table scans; the build ANALYZEs them between pages."""
    import projections.shadow

    models = ReadModels(system.settings, system.database, system.store)
    if system.database.backend != "postgresql":
        # SQLite plans key look-ups by its indexes without statistics: the
        # build's progress is passed on as it is, no ANALYZE pass.
        def progress(position: int, head: int) -> None:
            return None

        assert ShadowRebuild(models, ["cases"])._analyzing(progress) is progress
        models.close()
        return
    write_in_chunks(system, models, chunks=1, migrants=15)
    models.catch_up()
    monkeypatch.setattr(projections.shadow, "ANALYZE_FIRST", 20)
    shadow = ShadowRebuild(models, ["cases"], batch_size=10)
    shadow.lock()
    shadow.prepare()
    shadow.build()
    analyzed = {
        r[0]
        for r in shadow.db.fetchall(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        )
    }
    assert {"rm_cases__shadow", "rm_case_search__shadow", "rm_incidents__shadow"} <= analyzed
    shadow.swap()
    shadow.close()
    models.close()


# Rebuilds every read model in shadow tables, in small pages (a kill lands
# inside a transaction often), then says so.
WORKER = """
import sys
from projections.readmodels import ReadModels
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
settings = Settings(database_url=sys.argv[1], projection_batch_size=20)
system = build_system(settings)  # the event store opens the sealed events
models = ReadModels(settings, system.database, system.store)
models.shadow_parts = system.read_models.shadow_parts
models.runner
print("ready", flush=True)
models.rebuild_shadow(processes=int(sys.argv[2]))
print("done", flush=True)
"""


@pytest.mark.slow
def test_a_shadow_rebuild_killed_at_random_moments_leaves_the_live_tables(system):
    kill_at_random_moments(system, processes=1)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_split_shadow_rebuild_killed_at_random_moments_leaves_the_live_tables(system):
    """Split across two processes (PostgreSQL only): the kill lands on the
    parent; its parts stop at their next page, and the next build waits for
    them before it drops their tables."""
    kill_at_random_moments(system, processes=2)


def kill_at_random_moments(system, processes: int) -> None:
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=80)
    models.catch_up()
    clean = dump(system.database)
    indexes, _ = catalogue(system.database)
    rng = random.Random(os.environ.get("MSAFIRI_CRASH_SEED", "7"))

    def start() -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, system.settings.database_url, str(processes)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        return worker

    # Kill moments are drawn within the time a whole shadow rebuild takes
    # here, so kills land mid-build on a fast machine and a slow one.
    mark_live(system.database)
    first = start()
    began = time.monotonic()
    assert first.wait(timeout=600) == 0
    whole = time.monotonic() - began
    assert marks(system.database) == {"rm_cases": False, "rm_officers": False}

    kills, before_swap, runs = 0, 0, 0
    while kills < 5:
        runs += 1
        assert runs < 30, "the worker kept finishing before the kill"
        mark_live(system.database)
        marked = dump(system.database)
        worker = start()
        try:
            worker.wait(timeout=rng.uniform(0.05, 0.95 * whole))
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
        else:
            assert worker.returncode == 0
        state = marks(system.database)
        # All or nothing: both projections' tables old, or both new.
        assert state in (
            {"rm_cases": True, "rm_officers": True},
            {"rm_cases": False, "rm_officers": False},
        )
        if state["rm_cases"]:
            before_swap += 1
            assert_same(marked, dump(system.database))  # untouched, positions too
        else:
            assert_same(clean, dump(system.database))
            # The swap left no shadow behind: it is in the same transaction.
            assert catalogue(system.database)[1] == []

    assert before_swap >= 1
    # The next shadow rebuild cleans up whatever the last kill left.
    models.rebuild_shadow()
    assert_same(clean, dump(system.database))
    assert catalogue(system.database) == (indexes, [])
    models.close()
