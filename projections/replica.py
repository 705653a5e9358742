"""Reads from a PostgreSQL streaming replica (MSAFIRI_READ_DATABASE_URL).

The read models' queries go to the replica; the runner that writes them, the
event store and every worker stay on the primary. A replica is behind by its
replay lag, so a process that has just written (and caught its read models up
on the primary) would not see its own write there. `ReplicaRouting` keeps
that promise: `wrote()` notes the primary's WAL position (LSN) right after
the write's read-model rows were committed, and until the replica has
replayed past that LSN this process's queries go to the primary; then back
to the replica. Other officers' writes show up on the replica with its lag
(the status screen and `msafiri status` show it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReplicaLag:
    """How far the replica is behind the primary."""

    primary_lsn: str
    replay_lsn: str | None  # None: the replica has replayed nothing (or is no replica)
    bytes_behind: int | None
    # Seconds since the last transaction the replica replayed was committed,
    # when it still has WAL to replay (0.0 when it has replayed all it got).
    seconds_behind: float | None
    events_behind: int  # the primary's log head minus the replica's
    in_recovery: bool  # False: the "replica" is a primary (a misconfiguration)

    def describe(self) -> str:
        if not self.in_recovery:
            return "not a replica (the server is not in recovery): reads are not offloaded"
        if self.replay_lsn is None:
            return "has replayed nothing yet"
        if self.bytes_behind == 0:
            return f"up to date (replayed to {self.replay_lsn})"
        seconds = "" if self.seconds_behind is None else f", {self.seconds_behind:.1f} s"
        return (
            f"{self.events_behind:,} events, {self.bytes_behind:,} bytes of WAL behind"
            f"{seconds} (replayed to {self.replay_lsn} of {self.primary_lsn})"
        )


class ReplicaRouting:
    """Which database this process's reads go to. Thread-safe; one per process
    (the TUI's threads share it: the officer is one reader)."""

    def __init__(self, primary: Callable[[], Any]):
        # `primary()` opens a ReadModelDb on the primary (for `wrote` and lag).
        self._primary = primary
        self._lock = threading.Lock()
        self._pending: str | None = None  # the LSN the replica must pass

    @property
    def pending(self) -> str | None:
        return self._pending

    def wrote(self, db: Any) -> str:
        """After this process wrote and its read models were committed on the
        primary (`db` a connection to it): read from the primary until the
        replica has replayed to the primary's WAL position now."""
        # The insert position, not the write position: the read models commit
        # asynchronously (synchronous_commit off), so their commit record may
        # still be in the WAL buffers; the insert position is past it.
        row = db.fetchone("SELECT pg_current_wal_insert_lsn()::text")
        lsn = str(row[0])
        with self._lock:
            if self._pending is None or _lsn(lsn) > _lsn(self._pending):
                self._pending = lsn
        return lsn

    def use_primary(self, replica: Any) -> bool:
        """Must this read go to the primary? Asks the replica (one tiny query)
        only while a write of ours may not have been replayed there."""
        pending = self._pending
        if pending is None:
            return False
        row = replica.fetchone(
            "SELECT COALESCE(pg_last_wal_replay_lsn() >= ?::pg_lsn, false)", (pending,)
        )
        if row and row[0]:
            with self._lock:
                if self._pending == pending:
                    self._pending = None
            return False
        return True


def _lsn(text: str) -> int:
    """'16/B374D848' -> its position as a number."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def replica_lag(primary: Any, replica: Any) -> ReplicaLag:
    """Ask both servers how far the replica is behind (two ReadModelDb)."""
    head = primary.max_notification_id()
    primary_lsn = str(primary.fetchone("SELECT pg_current_wal_lsn()::text")[0])
    in_recovery, replay_lsn, replayed_at_age = replica.fetchone(
        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
        "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
    )
    replica_head = replica.max_notification_id()
    behind = None
    if replay_lsn is not None:
        behind = max(0, _lsn(primary_lsn) - _lsn(replay_lsn))
    seconds = None
    if behind == 0:
        seconds = 0.0
    elif replayed_at_age is not None:
        seconds = max(0.0, float(replayed_at_age))
    return ReplicaLag(
        primary_lsn=primary_lsn,
        replay_lsn=replay_lsn,
        bytes_behind=behind,
        seconds_behind=seconds,
        events_behind=max(0, head - replica_head),
        in_recovery=bool(in_recovery),
    )


def replica_facts(read_models: Any) -> dict[str, str]:
    """Where the reads go and, with a replica, how far it is behind."""
    replica = read_models.read_database
    if replica is None:
        return {"reads from": "the primary (no read replica configured)"}
    facts = {"reads from": f"replica {replica.url}"}
    try:
        lag = read_models.replica_lag()
    except Exception as error:  # the status must show even a replica that is away
        facts["replica lag"] = f"unknown: {type(error).__name__}: {error}"
        return facts
    assert lag is not None
    facts["replica lag"] = lag.describe()
    routing = read_models.routing
    if routing is not None and routing.pending is not None:
        facts["replica lag"] += (
            f"; reading the primary until the replica has replayed this session's "
            f"last write ({routing.pending})"
        )
    return facts
