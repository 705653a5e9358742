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

from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from projections.db import ReadModelDb
from projections.readmodels import ReadModels
from projections.shadow import ShadowRebuild
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
models.runner
print("ready", flush=True)
models.rebuild_shadow()
print("done", flush=True)
"""


@pytest.mark.slow
def test_a_shadow_rebuild_killed_at_random_moments_leaves_the_live_tables(system):
    models = ReadModels(system.settings, system.database, system.store)
    write_in_chunks(system, models, chunks=1, migrants=80)
    models.catch_up()
    clean = dump(system.database)
    indexes, _ = catalogue(system.database)
    rng = random.Random(os.environ.get("MSAFIRI_CRASH_SEED", "7"))

    def start() -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, system.settings.database_url],
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
