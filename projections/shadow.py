"""Rebuild read models without downtime: build them into shadow tables while
officers keep reading (and the live runner keeps writing) the live ones, then
swap them in, in one transaction.

    prepare  empty copies of the projections' tables (`rm_cases__shadow`, ...)
             and a tracking table of their own (`rm_tracking__shadow`);
             leftovers of a shadow rebuild that died are dropped first
    build    the ordinary runner, on a connection that writes the
             projections' own SQL to the shadow tables (ReadModelDb renames):
             the same pages, the same batch writes, the same speed; the
             query-only indexes are left out until the shadow reaches the
             head, as in a plain rebuild
    swap     ONE transaction: lock the live tracking rows (a live runner's
             page waits, then finds the position moved and re-reads), drop
             the live tables, rename the shadow tables (and their indexes)
             to the live names, set the live position to the shadow's, drop
             the shadow tracking table. Events written after the shadow's
             last page are applied by the live runner from that position.

On PostgreSQL the build may be split across processes (`processes=N`, run
by the composition root's `parts`: msafiri/shadow_parts.py): each fills the
shadow tables of some of the projections up to the head the build started
from, in its own process (decoding and the projections' Python are most of
the client's work: threads would share one interpreter lock), then this
process catches all of them up together and swaps as above. A part whose
parent died stops at its next page; the next build waits for it to go
before dropping the leftovers.

Before the swap commits nothing live has changed; DDL is transactional on
both backends, so a crash (SIGKILL, power) inside the swap leaves the old
tables whole. A shadow rebuild that died is started over: its half-built
shadow tables are dropped by the next one (`clean`).

PostgreSQL renames indexes in the swap (ALTER INDEX: catalogue only, and
renaming a primary key's index renames its constraint). SQLite cannot
rename an index: the swap drops the shadow's and builds each under its own
name, holding SQLite's write lock that long (readers go on: WAL).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from projections.base import Projection
from projections.db import ReadModelDb
from projections.runner import REBUILD_DEFERRED_INDEXES, Runner

if TYPE_CHECKING:
    from projections.readmodels import ReadModels

SUFFIX = "__shadow"
# The runner's bookkeeping, kept apart for the shadow. rm_deferred_indexes'
# shadow is never made: the runner then leaves indexes alone (the shadow
# build defers them itself, below).
BOOKKEEPING = ("rm_tracking", "rm_deferred_indexes")
# The shadow tables are ANALYZEd once the build has read this many log
# entries, then each time it has read ANALYZE_GROWTH times as many (10k,
# 40k, 160k, ...: eight times up to 20M, ~25 tables of ~0.05-1 s each).
ANALYZE_FIRST = 10_000
ANALYZE_GROWTH = 4
# Any constant, the same in every Msafiri process ("MSSH").
_SHADOW_LOCK_KEY = 0x4D535348
# Held (shared) by every part process while it writes; a build's prepare()
# takes it exclusively, so it drops nothing a part of a dead build still
# writes to ("MSSP").
_PARTS_LOCK_KEY = 0x4D535350

# Runs the parts of a split build: (groups of projection names, the head they
# fill up to, a callback for progress, the stop event) -> log entries read.
Parts = Callable[[list[list[str]], int, Callable[[], None], "threading.Event | None"], int]

_INDEX_HEAD = re.compile(r'^CREATE (UNIQUE )?INDEX "?(\w+)"? ON "?([\w.]+)"?', re.IGNORECASE)
_TABLE_HEAD = re.compile(r'^CREATE TABLE "?(\w+)"?', re.IGNORECASE)


class ShadowRebuildFailed(Exception):
    """The shadow build could not finish; the live tables are unchanged. One line."""


def _shadow_index(definition: str, name: str, table: str) -> str:
    """An index definition with the shadow's index and table names."""

    def head(match: re.Match) -> str:
        unique = match.group(1) or ""
        target = match.group(3)
        target = target[: -len(table)] + table + SUFFIX if target.endswith(table) else target
        return f"CREATE {unique}INDEX {name}{SUFFIX} ON {target}"

    return _INDEX_HEAD.sub(head, definition, count=1)


class ShadowRebuild:
    def __init__(
        self,
        read_models: ReadModels,
        names: Sequence[str],
        batch_size: int | None = None,
        processes: int = 1,
        parts: Parts | None = None,
    ):
        self.read_models = read_models
        self.names = list(names)
        self.processes = processes
        self.parts = parts
        # Fresh projection objects: nothing shared with the live runner.
        self.projections: list[Projection] = [
            type(p)() for p in read_models.projections if p.name in self.names
        ]
        self.tables = [t for p in self.projections for t in p.tables]
        self.renames = {t: t + SUFFIX for t in (*self.tables, *BOOKKEEPING)}
        settings = read_models.settings
        self.timeout = settings.connect_timeout_seconds
        self.batch_size = batch_size or settings.projection_batch_size
        self.database = read_models.database
        self.db = ReadModelDb(self.database, self.timeout)
        self.runner: Runner | None = None
        self._analyze_at = ANALYZE_FIRST
        # Query-only indexes, built once the shadow is at the head.
        self.deferred: list[tuple[str, str]] = []
        # SQLite: every plain index as the live catalogue holds it, made
        # under its own name in the swap.
        self.final_indexes: list[str] = []

    # -- the whole run -------------------------------------------------------

    def run(
        self,
        progress: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """prepare, build, swap; returns the log entries read. On any error
        the shadow tables are dropped (the live ones were never touched)."""
        try:
            self.lock()
            self.prepare()
            read = self.build(progress, stop)
            if stop is not None and stop.is_set():
                raise ShadowRebuildFailed("stopped before the swap: the live tables are unchanged")
            self.swap()
            return read
        except BaseException:
            self._close_runner()
            with contextlib.suppress(Exception):  # else the next shadow rebuild cleans up
                self.clean()
            raise
        finally:
            self.close()

    def lock(self) -> None:
        """One shadow rebuild at a time (PostgreSQL: a session advisory lock,
        released when this connection closes, also by a crash)."""
        if not self.db.is_postgres:
            return
        row = self.db.fetchone("SELECT pg_try_advisory_lock(?)", (_SHADOW_LOCK_KEY,))
        if not (row and row[0]):
            raise ShadowRebuildFailed("another shadow rebuild is running on this database")

    # -- prepare -------------------------------------------------------------

    def shadow_tables(self) -> list[str]:
        """Every shadow table in the database (ours or a dead run's)."""
        if self.db.is_postgres:
            rows = self.db.fetchall(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        else:
            rows = self.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(r[0] for r in rows if r[0].startswith("rm_") and r[0].endswith(SUFFIX))

    def clean(self) -> list[str]:
        """Drop every shadow table (and so its indexes); returns their names."""
        found = self.shadow_tables()
        if found:
            with self.db.transaction():
                for table in found:
                    self.db.execute(f"DROP TABLE IF EXISTS {table}")
        return found

    def prepare(self) -> None:
        if self.db.is_postgres:
            # A part of a dead build may still be writing: wait for it to stop.
            self.db.fetchone("SELECT pg_advisory_lock(?)", (_PARTS_LOCK_KEY,))
            self.db.fetchone("SELECT pg_advisory_unlock(?)", (_PARTS_LOCK_KEY,))
        self.clean()
        db = self.db
        with db.transaction():
            for table in (*self.tables, "rm_tracking"):
                self._copy_table(table)
        self.runner = Runner(
            ReadModelDb(self.database, self.timeout, self.renames),
            self.projections,
            self.read_models.decoder,
            self.batch_size,
        )

    def _copy_table(self, table: str) -> None:
        """An empty copy of `table` with its indexes under shadow names; the
        query-only ones are kept for later (self.deferred)."""
        db = self.db
        shadow = table + SUFFIX
        if db.is_postgres:
            db.execute(f"CREATE TABLE {shadow} (LIKE {table} INCLUDING ALL)")
            # LIKE names the copies itself: give each its live name + suffix,
            # matched on the definition with both names left out.
            live = self._pg_indexes(table)
            copies = self._pg_indexes(shadow)
            by_shape = {_INDEX_HEAD.sub(r"\1", d, count=1): n for n, d in copies}
            for name, definition in live:
                copy = by_shape[_INDEX_HEAD.sub(r"\1", definition, count=1)]
                db.execute(f"ALTER INDEX {copy} RENAME TO {name}{SUFFIX}")
                if name in REBUILD_DEFERRED_INDEXES:
                    db.execute(f"DROP INDEX {name}{SUFFIX}")
                    self.deferred.append((name, _shadow_index(definition, name, table)))
            return
        row = db.fetchone(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        )
        assert row is not None, table
        db.execute(_TABLE_HEAD.sub(f"CREATE TABLE {shadow}", row[0], count=1))
        for name, _, definition in db.plain_indexes([table]):
            self.final_indexes.append(definition)
            if name in REBUILD_DEFERRED_INDEXES:
                continue  # built under its own name in the swap
            db.execute(_shadow_index(definition, name, table))
        # UNIQUE indexes made by CREATE UNIQUE INDEX (none today) are made
        # with the table's other indexes; PRIMARY KEY/UNIQUE constraints
        # come with the CREATE TABLE text.
        for name, definition in db.fetchall(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        ):
            if " ".join(definition.split()).upper().startswith("CREATE UNIQUE"):
                self.final_indexes.append(definition)
                db.execute(_shadow_index(definition, name, table))

    def _pg_indexes(self, table: str) -> list[tuple[str, str]]:
        return self.db.fetchall(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname",
            (table,),
        )

    # -- build ---------------------------------------------------------------

    def build(
        self,
        progress: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """Fill the shadow tables up to the log's head (passes until one
        finds less than a page: the head moves while officers work)."""
        assert self.runner is not None, "prepare() first"
        groups = self.split(self.processes)
        if self.parts is not None and self.db.is_postgres and len(groups) > 1:
            head = self.db.max_notification_id()

            def report() -> None:
                if progress is not None:
                    progress(self.shadow_position(), head)

            read = self.parts(groups, head, report, stop)
            for projection in self.projections:
                projection.deferring = False  # the parts settled theirs
        else:
            for projection in self.projections:
                projection.deferring = True
            read = self._catch_up(progress, stop)
            self._settle(stop)
        if self.db.is_postgres and self.deferred:
            # Built on the shadow while the live tables serve; the swap only
            # renames them.
            for _, definition in self.deferred:
                self.db.execute(definition)
            self.deferred = []
            read += self._catch_up(progress, stop)
        self._raise_if_failed()
        return read

    def _raise_if_failed(self) -> None:
        """A projection that stopped on an event stops the build: nothing is swapped."""
        assert self.runner is not None
        failed = [t for t in self.runner.tracking().values() if t.failed_id is not None]
        if failed:
            t = failed[0]
            raise ShadowRebuildFailed(
                f"projection {t.projection} stopped at event {t.failed_id} in the shadow "
                f"build ({t.error}); the live tables are unchanged"
            )

    def split(self, processes: int) -> list[list[str]]:
        """The projections in `processes` groups of about equal work (each
        projection's `rebuild_weight`, heaviest first into the lightest group)."""
        count = max(1, min(processes, len(self.projections)))
        groups: list[list[str]] = [[] for _ in range(count)]
        loads = [0.0] * count
        for projection in sorted(self.projections, key=lambda p: -p.rebuild_weight):
            lightest = loads.index(min(loads))
            groups[lightest].append(projection.name)
            loads[lightest] += projection.rebuild_weight
        return [g for g in groups if g]

    def shadow_position(self) -> int:
        """How far the slowest shadow projection is."""
        row = self.db.fetchone(f"SELECT min(position) FROM rm_tracking{SUFFIX}")
        return int(row[0] or 0) if row else 0

    def fill_part(self, head: int, alive: Callable[[], bool]) -> int:
        """One part of a split build (in its own process): fill this object's
        projections' shadow tables up to `head` and settle them. The shadow
        tables and tracking rows were made by the build's prepare(). Stops
        (ShadowRebuildFailed) at the next page once `alive()` is False."""
        self.db.fetchone("SELECT pg_advisory_lock_shared(?)", (_PARTS_LOCK_KEY,))
        self.runner = Runner(
            ReadModelDb(self.database, self.timeout, self.renames),
            self.projections,
            self.read_models.decoder,
            self.batch_size,
        )
        for projection in self.projections:
            projection.deferring = True
        analyzing = self._analyzing(None)

        def page_done(position: int, head: int) -> None:
            if not alive():
                raise ShadowRebuildFailed("the shadow build this part belonged to is gone")
            if analyzing is not None:
                analyzing(position, head)

        read = self.runner.run_once(progress=page_done, until=head)
        self._raise_if_failed()
        self._settle(None)
        return read

    def _settle(self, stop: threading.Event | None) -> None:
        """At the head: each projection does what it deferred, then keeps up
        page by page like a live one (the second catch-up, and the swap)."""
        assert self.runner is not None
        if stop is not None and stop.is_set():
            return  # stopped: the swap will not happen, nothing to settle
        db = self.runner.db
        with db.transaction():
            for projection in self.projections:
                if projection.deferring and projection.name not in self.runner.stopped:
                    projection.settle(db)
        for projection in self.projections:
            projection.deferring = False

    def _catch_up(
        self,
        progress: Callable[[int, int], None] | None,
        stop: threading.Event | None,
    ) -> int:
        assert self.runner is not None
        read = 0
        progress = self._analyzing(progress)
        while stop is None or not stop.is_set():
            found = self.runner.run_once(progress=progress, stop=stop)
            read += found
            if found < self.batch_size or self.runner.stopped:
                break
        return read

    def _analyzing(
        self, progress: Callable[[int, int], None] | None
    ) -> Callable[[int, int], None] | None:
        """PostgreSQL: `progress` that also ANALYZEs the shadow tables as they
        grow (between pages: the runner holds no transaction then). A table
        made empty and never analyzed has no statistics (autovacuum may be
        off, and is slow to come); the planner then takes a page's
        `key = ANY(<hundreds of keys>)` load for most of the table and
        reads ALL of it, every page - a rebuild quadratic in the log (10.7
        ms a page for rm_cases at 30k migrants, growing with the table)."""
        if not self.db.is_postgres:
            return progress

        def report(position: int, head: int) -> None:
            if position >= self._analyze_at:
                for table in self.tables:
                    self.db.execute(f"ANALYZE {table}{SUFFIX}")
                self._analyze_at = position * ANALYZE_GROWTH
            if progress is not None:
                progress(position, head)

        return report

    def positions(self) -> dict[str, int]:
        """The shadow's position of each projection."""
        assert self.runner is not None
        return {name: t.position for name, t in self.runner.tracking().items()}

    # -- swap ----------------------------------------------------------------

    def swap(self) -> dict[str, int]:
        """The shadow becomes live, in one transaction; returns the positions."""
        db = self.db
        self._close_runner()
        marks = ", ".join("?" for _ in self.names)
        with db.transaction():
            lock = " FOR UPDATE" if db.is_postgres else ""
            # First: a live runner's page in flight finishes before we go on,
            # and the next one waits for our commit.
            db.fetchall(
                f"SELECT projection FROM rm_tracking WHERE projection IN ({marks}){lock}",
                self.names,
            )
            positions = dict(
                db.fetchall(
                    f"SELECT projection, position FROM rm_tracking{SUFFIX} "
                    f"WHERE projection IN ({marks})",
                    self.names,
                )
            )
            if set(positions) != set(self.names):
                raise ShadowRebuildFailed("the shadow tracking rows are missing")
            shadow_indexes = (
                [n for t in self.tables for n, _ in self._pg_indexes(t + SUFFIX)]
                if db.is_postgres
                else [
                    r[0]
                    for r in db.fetchall(
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        f"AND tbl_name IN ({', '.join('?' for _ in self.tables)})",
                        [t + SUFFIX for t in self.tables],
                    )
                ]
            )
            for table in self.tables:
                db.execute(f"DROP TABLE {table}")
            if not db.is_postgres:
                for name in shadow_indexes:
                    db.execute(f"DROP INDEX {name}")
            for table in self.tables:
                db.execute(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}")
            if db.is_postgres:
                for name in shadow_indexes:
                    if name.endswith(SUFFIX):
                        db.execute(f"ALTER INDEX {name} RENAME TO {name[: -len(SUFFIX)]}")
            else:
                for definition in self.final_indexes:
                    db.execute(definition)
            # An upsert: on a database whose read models never ran here (no
            # live runner made their rows yet) an UPDATE would leave them
            # missing, and the next runner would apply the whole log again
            # onto the swapped tables from position 0.
            db.executemany(
                "INSERT INTO rm_tracking (projection, position) VALUES (?, ?) "
                "ON CONFLICT (projection) DO UPDATE SET position = excluded.position, "
                "failed_id = NULL, error = NULL",
                [(n, int(positions[n])) for n in self.names],
            )
            # A plain rebuild of these that never finished: its indexes are
            # all there now.
            if db.table_exists("rm_deferred_indexes"):
                db.execute(
                    "DELETE FROM rm_deferred_indexes WHERE table_name IN "
                    f"({', '.join('?' for _ in self.tables)})",
                    self.tables,
                )
            db.execute(f"DROP TABLE rm_tracking{SUFFIX}")
        return {n: int(p) for n, p in positions.items()}

    # -- closing -------------------------------------------------------------

    def _close_runner(self) -> None:
        if self.runner is not None:
            self.runner.db.close()
            self.runner = None

    def close(self) -> None:
        self._close_runner()
        self.db.close()
