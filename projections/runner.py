"""Msafiri's projection runner: batched and exactly once.

Per page of the notification log (keyset: id > position, LIMIT batch), each
projection applies all the page's events it cares about and moves its row in
`rm_tracking` to the page's last id - in ONE transaction of the read-model
connection. A crash anywhere leaves either the whole page applied with its
position, or nothing: no event is lost or applied twice.

The page is read and decoded once and given to every projection; a
projection that is behind the others (just rebuilt) gets only what it has
not seen. Two runners (the TUI's and a `projections run` worker) may run at
once: each transaction re-reads and locks the tracking row and gives up if
someone else moved it.

Errors are classified (projections/outage.py). A transient one (the
connection, a lock, SQLite busy) is never blamed on a projection: it goes
up to `run_forever`, which waits it out and does the page again. A
permanent one (a missing table or column, a value the column cannot hold,
a bug): the projection that raised is applied event by event up to that
event, stops there (its position is the event before), and records the
notification id and the error in `rm_tracking`; the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from projections.base import Projection
from projections.db import ReadModelDb
from projections.log import Decoder, Record, read_page
from projections.outage import Outage, classify, describe, is_transient

log = logging.getLogger(__name__)


# After a catch-up this long, checkpoint SQLite's WAL (see ReadModelDb).
CHECKPOINT_AFTER_EVENTS = 50_000

# Indexes that only serve the screens' queries: no projection looks a row up
# through them while it applies events. A full rebuild (`reset`) drops them
# and builds each once at the end - one sorted pass instead of one entry per
# row, inserted at a random place. Only their names are here: definitions
# are the migrations', read back from the catalogue when they are dropped
# and kept in rm_deferred_indexes (migration 0005) until they are rebuilt.
# The indexes the projections read through while applying stay, or every
# page would scan a table: rm_case_search_migrant, rm_incidents_migrant,
# rm_stats_incident_keys_migrant, rm_disbursements_migrant. (The activity
# projection only inserts.)
REBUILD_DEFERRED_INDEXES = frozenset(
    {
        "rm_cases_name",
        "rm_cases_stage",
        "rm_cases_destination",
        "rm_cases_open",
        "rm_cases_officer",
        "rm_case_search_stage",
        "rm_case_search_destination",
        "rm_incidents_open",
        "rm_incidents_country",
        "rm_fund_journal_account",
        "rm_fund_contributions_member",
        "rm_disbursements_status",
        "rm_disbursements_amount",
        "rm_activity_actor",
        "rm_activity_role",
        "rm_activity_type",
        "rm_activity_recorded",
    }
)


class PositionMoved(Exception):
    """Another runner applied this page first; re-read and go on."""


@dataclass(frozen=True)
class Tracking:
    projection: str
    position: int
    failed_id: int | None
    error: str | None


class Runner:
    def __init__(
        self,
        db: ReadModelDb,
        projections: Sequence[Projection],
        decoder: Decoder,
        batch_size: int,
    ):
        assert batch_size >= 1
        self.db = db
        self.projections = {p.name: p for p in projections}
        self.decoder = decoder
        self.batch_size = batch_size
        # Projections that failed in this runner: skipped until it restarts.
        self.stopped: set[str] = set()
        self._deferred_table: bool | None = None
        self._ensure_tracking_rows()

    def _ensure_tracking_rows(self) -> None:
        known = {row[0] for row in self.db.fetchall("SELECT projection FROM rm_tracking")}
        missing = [name for name in self.projections if name not in known]
        if missing:
            with self.db.transaction():
                self.db.executemany(
                    "INSERT INTO rm_tracking (projection, position) VALUES (?, 0) "
                    "ON CONFLICT (projection) DO NOTHING",
                    [(name,) for name in missing],
                )

    def tracking(self) -> dict[str, Tracking]:
        rows = self.db.fetchall("SELECT projection, position, failed_id, error FROM rm_tracking")
        return {
            r[0]: Tracking(r[0], int(r[1]), r[2], r[3]) for r in rows if r[0] in self.projections
        }

    def run_once(
        self,
        names: Sequence[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        until: int | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """Catch the projections up with the log as it is now; returns the
        number of log entries read. `progress(position, head)` after each page.
        When `stop` is set the page being applied is finished and no other."""
        wanted = [n for n in (names or self.projections) if n not in self.stopped]
        head = until if until is not None else self.db.max_notification_id()
        read = self._run(wanted, head, progress, stop)
        # Also after a rebuild that was killed and is finished by this
        # runner (or by another one: the check is on the database's state).
        # A run stopped early (`until`) leaves a rebuild's indexes for later.
        self.restore_indexes(head if until is None else self.db.max_notification_id())
        if read >= CHECKPOINT_AFTER_EVENTS:
            self.db.checkpoint()
        return read

    def _run(
        self,
        wanted: list[str],
        head: int,
        progress: Callable[[int, int], None] | None,
        stop: threading.Event | None = None,
    ) -> int:
        read = 0
        while stop is None or not stop.is_set():
            positions = {n: t.position for n, t in self.tracking().items() if n in wanted}
            active = [n for n in wanted if n not in self.stopped and positions[n] < head]
            if not active:
                return read
            start = min(positions[n] for n in active)
            rows = read_page(self.db, start, min(self.batch_size, head - start))
            if not rows:
                return read
            read += len(rows)
            # Only the events some projection reads are decoded.
            needed = frozenset().union(*(self.projections[n].types for n in active))
            records = self.decoder.decode_page(rows, needed)
            last = rows[-1][0]
            behind = [n for n in active if positions[n] < last]
            # The usual case: every projection at the same position, one
            # transaction (one commit) for all of them.
            together = [n for n in behind if positions[n] == start]
            if len(together) > 1 and self._apply_together(together, records, start, last):
                behind = [n for n in behind if n not in together]
            for name in behind:
                self._apply_page(self.projections[name], records, positions[name], last)
            if progress:
                progress(last, head)
        return read

    def _apply_together(
        self, names: list[str], records: list[Record], position: int, last: int
    ) -> bool:
        """Apply the page to several projections at `position` in ONE
        transaction. False when that failed (a projection raised, or another
        runner moved one of them): the caller then goes projection by
        projection, which isolates a failing one."""
        db = self.db
        try:
            with db.transaction():
                lock = " FOR UPDATE" if db.is_postgres else ""
                marks = ", ".join("?" for _ in names)
                found = db.fetchall(
                    f"SELECT projection, position FROM rm_tracking "
                    f"WHERE projection IN ({marks}){lock}",
                    names,
                )
                if len(found) != len(names) or any(int(p) != position for _, p in found):
                    raise PositionMoved(",".join(names))
                for name in names:
                    projection = self.projections[name]
                    todo = [r for r in records if r.type in projection.types]
                    if todo:
                        projection.apply(db, todo)
                db.execute(
                    "UPDATE rm_tracking SET position = ?, failed_id = NULL, error = NULL "
                    f"WHERE projection IN ({marks})",
                    (last, *names),
                )
        except Exception as error:
            if is_transient(error):
                raise
            return False
        return True

    def _apply_page(
        self,
        projection: Projection,
        records: list[Record],
        position: int,
        last: int,
        db: ReadModelDb | None = None,
    ) -> None:
        db = db or self.db
        todo = [r for r in records if r.id > position and r.type in projection.types]
        try:
            self._commit(projection, todo, position, last, db)
        except PositionMoved:
            return
        except Exception as error:
            if is_transient(error):
                raise
            self._find_failure(projection, todo, position, db)

    def _commit(
        self,
        projection: Projection,
        records: list[Record],
        expected: int,
        new_position: int,
        db: ReadModelDb,
    ) -> None:
        with db.transaction():
            lock = " FOR UPDATE" if db.is_postgres else ""
            row = db.fetchone(
                f"SELECT position FROM rm_tracking WHERE projection = ?{lock}", (projection.name,)
            )
            if row is None or int(row[0]) != expected:
                raise PositionMoved(projection.name)
            if records:
                projection.apply(db, records)
            db.execute(
                "UPDATE rm_tracking SET position = ?, failed_id = NULL, error = NULL "
                "WHERE projection = ?",
                (new_position, projection.name),
            )

    def _find_failure(
        self, projection: Projection, records: list[Record], position: int, db: ReadModelDb
    ) -> None:
        """The page failed: apply it event by event to stop exactly at the culprit."""
        for record in records:
            try:
                self._commit(projection, [record], position, record.id, db)
            except PositionMoved:
                return
            except Exception as error:
                if is_transient(error):
                    raise
                message = f"{type(error).__name__}: {error}"[:2000]
                log.error(
                    "projection %s stopped at event %s: %s", projection.name, record.id, message
                )
                with db.transaction():
                    db.execute(
                        "UPDATE rm_tracking SET failed_id = ?, error = ? WHERE projection = ?",
                        (record.id, message, projection.name),
                    )
                self.stopped.add(projection.name)
                return
            position = record.id
        # Every event applied alone: the page failed only as a whole (a
        # transient conflict). Its events are in; the next page finishes it.

    def reset(self, *names: str) -> None:
        """Empty projections' tables and set them back to the log's start,
        atomically (one transaction for all of them). Their query-only
        indexes are dropped in the same transaction and their definitions
        kept in rm_deferred_indexes: `restore_indexes` builds them when the
        projections reach the head, in this runner or, after a crash, in the
        next one."""
        projections = [self.projections[name] for name in names]
        db = self.db
        with db.transaction():
            self._defer_indexes([t for p in projections for t in p.tables])
            plain = [p for p in projections if type(p).clear is Projection.clear]
            if db.is_postgres and plain:
                # One TRUNCATE of every table: ~3 ms a statement otherwise.
                db.execute(f"TRUNCATE {', '.join(t for p in plain for t in p.tables)}")
            else:
                plain = []
            for projection in projections:
                if projection not in plain:
                    projection.clear(db)
            marks = ", ".join("?" for _ in names)
            db.execute(
                "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
                f"WHERE projection IN ({marks})",
                names,
            )
        self.stopped.difference_update(names)

    def defer_fresh_indexes(self) -> list[str]:
        """Drop the query-only indexes of the projections that have applied
        nothing yet (position 0), as `reset` does, so a first catch-up over
        a long log (a database `msafiri demo` just filled) is a rebuild's
        bulk load: `run_once` builds them once those projections reach the
        head. Nothing is emptied. Returns the projections concerned."""
        fresh = [
            name
            for name, t in self.tracking().items()
            if t.position == 0 and t.failed_id is None and name not in self.stopped
        ]
        if fresh:
            with self.db.transaction():
                self._defer_indexes([t for name in fresh for t in self.projections[name].tables])
        return fresh

    def _has_deferred_table(self) -> bool:
        # A schema before migration 0005 (PostgreSQL not yet upgraded, when
        # the schema check was skipped): rebuild with every index in place.
        if self._deferred_table is None:
            self._deferred_table = self.db.table_exists("rm_deferred_indexes")
        return self._deferred_table

    def _defer_indexes(self, tables: list[str]) -> None:
        """Inside reset's transaction: keep the definitions, drop the indexes."""
        if not self._has_deferred_table():
            return
        db = self.db
        found = [i for i in db.plain_indexes(tables) if i[0] in REBUILD_DEFERRED_INDEXES]
        # A rebuild of a rebuild that never finished: those are kept already.
        db.executemany(
            "INSERT INTO rm_deferred_indexes (index_name, table_name, definition) "
            "VALUES (?, ?, ?) ON CONFLICT (index_name) DO NOTHING",
            found,
        )
        for name, _, _ in found:
            db.execute(f"DROP INDEX {name}")

    def restore_indexes(self, head: int) -> list[str]:
        """Build the indexes a rebuild dropped, for every table whose
        projection is not still catching up to `head` (at the head, stopped
        on a failure, or not one of ours). One transaction: the indexes are
        there and their rows gone, or neither. Returns the names built."""
        if not self._has_deferred_table():
            return []
        db = self.db
        if not db.fetchone("SELECT 1 FROM rm_deferred_indexes"):
            return []  # the usual case: one cheap read per pass
        with db.transaction():
            lock = " FOR UPDATE" if db.is_postgres else ""
            deferred = db.fetchall(
                f"SELECT index_name, table_name, definition FROM rm_deferred_indexes{lock}"
            )
            tracking = self.tracking()
            busy = {
                table
                for name, projection in self.projections.items()
                if name in tracking
                and tracking[name].position < head
                and tracking[name].failed_id is None
                and name not in self.stopped
                for table in projection.tables
            }
            todo = [d for d in deferred if d[1] not in busy]
            if not todo:
                return []
            present = {i[0] for i in db.plain_indexes(sorted({d[1] for d in todo}))}
            for name, _, definition in todo:
                if name not in present:  # e.g. a migration made it meanwhile
                    db.conn.execute(definition)
            db.delete_keys("rm_deferred_indexes", "index_name", [d[0] for d in todo])
        built = [d[0] for d in todo]
        log.info("projections: built indexes %s", ", ".join(built))
        return built

    def run_forever(
        self,
        stop: threading.Event,
        poll_seconds: float,
        wake: Callable[[float], None] | None = None,
        companions: Sequence[Callable[[], object]] = (),
        reconnect: Callable[[], None] | None = None,
        say: Callable[[str], object] | None = None,
    ) -> None:
        """Follow the log until `stop` is set (the page being applied is
        finished first). `wake(timeout)` returns early when there may be new
        events (PostgreSQL NOTIFY); else poll. `companions` run after each
        pass (the fund process, the audit chain): other followers of the
        same log that should keep pace.

        Outages of any length: a transient error (see projections/outage.py)
        anywhere - reading the log, applying, a companion, the LISTEN wait -
        says one line (`say`, default a warning), waits with capped jittered
        backoff, then reopens this runner's connection and calls
        `reconnect()` (the waker's and the event store's connections) before
        trying again; when a whole pass succeeds it says one line that the
        database is back. Every follower commits its position with its work,
        so what was in flight when the server went is done again exactly
        once. A permanent error propagates (a projection's own is handled
        in the runner: it stops alone)."""
        outage = Outage("projections", "database", say)
        failing: dict[str, str] = {}
        while not stop.is_set():
            try:
                if outage.active:
                    self.db.reconnect()
                    if reconnect is not None:
                        reconnect()
                self.run_once(stop=stop)
                for companion in companions:
                    if stop.is_set():
                        break
                    self._run_companion(companion, failing)
                outage.back()
                if stop.is_set():
                    break
                if wake is not None:
                    wake(poll_seconds)
                else:
                    stop.wait(poll_seconds)
            except Exception as error:
                kind = classify(error)
                if kind is None:
                    raise
                stop.wait(outage.gone(error, kind))

    @staticmethod
    def _run_companion(companion: Callable[[], object], failing: dict[str, str]) -> None:
        """Run one companion; a permanent error of its own is reported once
        (and again only when it changes) and does not stop the projections
        or the other companions. It is tried again on the next pass: its
        position is its own, so nothing is skipped."""
        name = getattr(companion, "__qualname__", repr(companion))
        try:
            companion()
        except Exception as error:
            if is_transient(error):
                raise
            message = f"{type(error).__name__}: {describe(error)}"
            if failing.get(name) != message:
                failing[name] = message
                log.error("%s failed (tried again on every pass): %s", name, message)
            return
        if failing.pop(name, None) is not None:
            log.warning("%s works again", name)


class PostgresWaker:
    """LISTEN on the event table's channel: the library's recorder NOTIFYs it
    in every insert transaction (delivered at COMMIT). The connection is
    opened on first use and again after `reconnect()` (the runner calls it
    after an outage, before it catches up, so no commit falls between the
    catch-up and the LISTEN)."""

    def __init__(
        self, conninfo: str, channel: str = "msafiri_events", connect_timeout_seconds: int = 3
    ):
        self.conninfo = conninfo
        self.channel = channel
        self.connect_timeout_seconds = connect_timeout_seconds
        self.conn = None

    def _listen(self):
        import psycopg

        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=self.connect_timeout_seconds
            )
            self.conn.execute(f'LISTEN "{self.channel}"')
        return self.conn

    def reconnect(self) -> None:
        self.close()
        self._listen()

    def __call__(self, timeout: float) -> None:
        conn = self._listen()
        started = time.monotonic()
        try:
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                break
        except Exception:
            self.close()  # reopened by the next call or by reconnect()
            raise
        # Let a burst of commits land before reading a page.
        if time.monotonic() - started < timeout:
            time.sleep(0.005)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None
