"""The read models as one object the composition root builds and hands out.

read_models = open_read_models(settings, database, store)
read_models.catch_up()                 # CLI writes, before exit (SQLite)
threading.Thread(target=read_models.run_forever, args=(stop,)).start()  # TUI
read_models.queries.search_cases("amina")
read_models.rebuild("cases", progress)
read_models.rebuild_shadow("cases", progress)   # live tables serve meanwhile
read_models.status()
read_models.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from projections.access import AccessProjection
from projections.activity import ActivityProjection
from projections.base import Projection
from projections.cases import CasesProjection
from projections.claims import ClaimsProjection, CoverageProjection
from projections.db import ReadModelDb
from projections.employers import EmployersProjection
from projections.fund import FundProjection
from projections.log import Decoder
from projections.officers import OfficersProjection
from projections.outage import reopen_store_connections
from projections.queries import ProjectionStatus, Queries
from projections.replica import ReplicaLag, ReplicaRouting, replica_lag
from projections.runner import PostgresWaker, Runner
from projections.schema import ensure_schema
from projections.statistics import StatisticsProjection
from projections.timeline import TimelineProjection

if TYPE_CHECKING:  # the settings live in tui/, the outer layer
    from msafiri.settings import Database, Settings
    from projections.shadow import Parts


def all_projections() -> list[Projection]:
    """Every projection, in the order a page is given to them."""
    return [
        OfficersProjection(),
        CasesProjection(),
        TimelineProjection(),
        StatisticsProjection(),
        FundProjection(),
        ActivityProjection(),
        AccessProjection(),
        EmployersProjection(),
        ClaimsProjection(),
        CoverageProjection(),
    ]


class UnknownProjection(Exception):
    pass


class ReadModels:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        store: Any = None,
        projections: Sequence[Projection] | None = None,
        read_database: Database | None = None,
    ):
        self.settings = settings
        self.database = database
        # A streaming replica the queries read from (MSAFIRI_READ_DATABASE_URL);
        # the runner always writes to `database`, the primary.
        self.read_database = read_database
        self.projections = list(projections or all_projections())
        self.names = tuple(p.name for p in self.projections)
        self.store = store
        self.decoder = Decoder(getattr(store, "mapper", None))
        self.routing: ReplicaRouting | None = None
        if read_database is None:
            self.queries = Queries(self._connect, self.names)
        else:
            self.routing = ReplicaRouting(self._connect)
            self.queries = Queries(
                self._connect_replica, self.names, primary=self._connect, routing=self.routing
            )
        # One runner per thread that runs projections (the TUI's background
        # thread, the CLI's main thread); each has its own connection.
        self._runners = threading.local()
        self._open: list[Runner] = []
        # Other followers of the log run beside the projections (set by the
        # composition root: the fund process, the audit chain).
        self.companions: list[Callable[[], object]] = []
        # Runs a shadow build's parts in processes of their own (set by the
        # composition root: msafiri/shadow_parts.py); None: one process.
        self.shadow_parts: Parts | None = None
        self._lock = threading.Lock()

    def _connect(self) -> ReadModelDb:
        return ReadModelDb(self.database, self.settings.connect_timeout_seconds)

    def _connect_replica(self) -> ReadModelDb:
        assert self.read_database is not None
        return ReadModelDb(self.read_database, self.settings.connect_timeout_seconds)

    @property
    def runner(self) -> Runner:
        runner = getattr(self._runners, "runner", None)
        if runner is None:
            runner = Runner(
                self._connect(), self.projections, self.decoder, self.settings.projection_batch_size
            )
            self._runners.runner = runner
            with self._lock:
                self._open.append(runner)
        return runner

    def catch_up(
        self, progress: Callable[[int, int], None] | None = None, bulk: bool = False
    ) -> int:
        """Apply every event already in the log; returns log entries read.
        With a replica: this process wrote (or someone did), so its reads go
        to the primary until the replica has replayed this far. `bulk`: the
        log was just filled in bulk (`msafiri demo`); projections that have
        applied nothing yet build their query-only indexes once at the end,
        as a rebuild does (Runner.defer_fresh_indexes)."""
        if bulk:
            self.runner.defer_fresh_indexes()
        read = self.runner.run_once(progress=progress)
        if self.routing is not None:
            self.routing.wrote(self.runner.db)
        return read

    def replica_lag(self) -> ReplicaLag | None:
        """How far the replica the queries read is behind (None: no replica)."""
        replica = self.queries.replica_db
        if replica is None:
            return None
        return replica_lag(self.queries.primary_db, replica)

    def run_forever(
        self, stop: threading.Event, say: Callable[[str], object] | None = None
    ) -> None:
        """Follow the log live until `stop` is set (PostgreSQL: LISTEN/NOTIFY
        wake-up with a poll as a safety net; SQLite: poll). Rides out database
        outages of any length (see Runner.run_forever); `say` gets the one
        line when the database goes and the one when it is back."""
        waker = None
        if self.database.backend == "postgresql":
            waker = PostgresWaker(
                self.database.conninfo(),
                connect_timeout_seconds=self.settings.connect_timeout_seconds,
            )

        def reconnect() -> None:
            if waker is not None:
                waker.reconnect()
            reopen_store_connections(self.store)

        try:
            self.runner.run_forever(
                stop,
                self.settings.projection_poll_seconds,
                waker,
                self.companions,
                reconnect=reconnect,
                say=say,
            )
        finally:
            if waker:
                waker.close()

    def rebuild(
        self, name: str | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Empty the named projection (all when None) and rebuild it from the log."""
        names = self.named(name)
        self.runner.reset(*names)
        read = self.runner.run_once(names, progress=progress)
        self.analyze(names)
        return read

    def rebuild_shadow(
        self,
        name: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
        processes: int = 1,
    ) -> int:
        """Rebuild the named projection (all when None) into shadow tables
        while the live ones keep serving, swap them in at once, then catch
        up what came meanwhile (projections/shadow.py). `processes` > 1
        (PostgreSQL): the build is split across that many processes."""
        from projections.shadow import ShadowRebuild

        names = self.named(name)
        parts = self.shadow_parts if processes > 1 else None
        read = ShadowRebuild(self, names, processes=processes, parts=parts).run(progress, stop)
        self.runner.stopped.difference_update(names)
        read += self.runner.run_once(names)
        self.analyze(names)
        return read

    def analyze(self, names: Sequence[str] | None = None, events: bool = False) -> list[str]:
        """ANALYZE the named projections' tables (all when None) and, with
        `events`, the event log: after a bulk write the planner's statistics
        are stale until something analyzes (autovacuum may be off; one search
        took 28 ms instead of 1.24 ms after a rebuild). Returns the tables."""
        chosen = set(names or self.names)
        db = self.runner.db
        tables = [t for p in self.projections if p.name in chosen for t in p.tables]
        tables += [db.events_table] if events else []
        for table in tables:
            db.execute(f"ANALYZE {table}")  # both backends; SQLite fills sqlite_stat1
        return tables

    def named(self, name: str | None) -> list[str]:
        """The projections `name` stands for (all when None); UnknownProjection
        (one line listing the choices) when none is called that."""
        if name is None:
            return list(self.names)
        if name not in self.names:
            raise UnknownProjection(f"no projection {name!r}; choose from {', '.join(self.names)}")
        return [name]

    def status(self) -> list[ProjectionStatus]:
        return self.queries.status()

    def close(self) -> None:
        self.queries.close()
        with self._lock:
            for runner in self._open:
                runner.db.close()
            self._open.clear()
        self._runners = threading.local()


def open_read_models(
    settings: Settings,
    database: Database,
    store: Any = None,
    check_schema: bool = True,
    read_database: Database | None = None,
) -> ReadModels:
    """Build the read models. SQLite: the schema is upgraded here; PostgreSQL:
    raises SchemaBehind (one line naming `msafiri db upgrade`) when behind.
    `read_database`: a streaming replica of `database` the queries read."""
    if check_schema:
        ensure_schema(database)
    return ReadModels(settings, database, store, read_database=read_database)
