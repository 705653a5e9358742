"""The read models as one object the composition root builds and hands out.

read_models = open_read_models(settings, database, store)
read_models.catch_up()                 # CLI writes, before exit (SQLite)
threading.Thread(target=read_models.run_forever, args=(stop,)).start()  # TUI
read_models.queries.search_cases("amina")
read_models.rebuild("cases", progress)
read_models.status()
read_models.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from projections.activity import ActivityProjection
from projections.base import Projection
from projections.cases import CasesProjection
from projections.db import ReadModelDb
from projections.fund import FundProjection
from projections.log import Decoder
from projections.officers import OfficersProjection
from projections.queries import ProjectionStatus, Queries
from projections.runner import PostgresWaker, Runner
from projections.schema import ensure_schema
from projections.statistics import StatisticsProjection
from projections.timeline import TimelineProjection

if TYPE_CHECKING:  # the settings live in tui/, the outer layer
    from tui.settings import Database, Settings


def all_projections() -> list[Projection]:
    """Every projection, in the order a page is given to them."""
    return [
        OfficersProjection(),
        CasesProjection(),
        TimelineProjection(),
        StatisticsProjection(),
        FundProjection(),
        ActivityProjection(),
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
    ):
        self.settings = settings
        self.database = database
        self.projections = list(projections or all_projections())
        self.names = tuple(p.name for p in self.projections)
        self.decoder = Decoder(getattr(store, "mapper", None))
        self.queries = Queries(self._connect, self.names)
        # One runner per thread that runs projections (the TUI's background
        # thread, the CLI's main thread); each has its own connection.
        self._runners = threading.local()
        self._open: list[Runner] = []
        # Other followers of the log run beside the projections (set by the
        # composition root: the fund process, the audit chain).
        self.companions: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def _connect(self) -> ReadModelDb:
        return ReadModelDb(self.database, self.settings.connect_timeout_seconds)

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

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply every event already in the log; returns log entries read."""
        return self.runner.run_once(progress=progress)

    def run_forever(self, stop: threading.Event) -> None:
        """Follow the log live until `stop` is set (PostgreSQL: LISTEN/NOTIFY
        wake-up with a poll as a safety net; SQLite: poll)."""
        waker = None
        if self.database.backend == "postgresql":
            waker = PostgresWaker(self.database.conninfo())
        try:
            self.runner.run_forever(
                stop, self.settings.projection_poll_seconds, waker, self.companions
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
        return self.runner.run_once(names, progress=progress)

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
    settings: Settings, database: Database, store: Any = None, check_schema: bool = True
) -> ReadModels:
    """Build the read models. SQLite: the schema is upgraded here; PostgreSQL:
    raises SchemaBehind (one line naming `msafiri db upgrade`) when behind."""
    if check_schema:
        ensure_schema(database)
    return ReadModels(settings, database, store)
