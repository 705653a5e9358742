"""Telling a passing outage from a broken read model, and riding it out.

Every follower of the log (the projection runner, the fund process and the
audit chain that run beside it, the NATS publisher) meets two kinds of
errors:

- transient: the database is gone or restarting, the connection was cut, a
  lock or serialisation conflict, SQLite's "database is locked"/"busy".
  Nothing is wrong with the data: wait (capped, jittered backoff), reconnect
  and do the same work again. Exactly-once holds because every follower
  commits its position with its work.
- permanent: anything else - a missing table or column, a value the column
  cannot hold, a bug. Retrying changes nothing: the projection that raised
  stops at that event and says so; the others go on.

`Outage` prints ONE line when a follower loses the database (or NATS) and
ONE when it is back, however long the outage and however many attempts.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("msafiri.worker")

# SQLite's primary result codes (the low byte of the extended code) that
# mean "not now" rather than "never": BUSY, LOCKED, INTERRUPT, IOERR, FULL,
# CANTOPEN, PROTOCOL.
_SQLITE_TRANSIENT_CODES = frozenset({5, 6, 9, 10, 13, 14, 15})
_SQLITE_TRANSIENT_WORDS = ("locked", "busy", "unable to open", "disk i/o", "interrupted")

# PostgreSQL SQLSTATEs: class 40 (serialization failure, deadlock) and
# these are conflicts; lock_not_available, object_in_use, query_canceled
# (lock or statement timeout).
_PG_CONFLICT_STATES = frozenset({"55P03", "55006", "57014"})
# Connection exception, insufficient resources (too many connections, disk
# full), operator intervention (shutdown, starting up), system error (I/O).
_PG_CONNECTION_CLASSES = frozenset({"08", "53", "57", "58"})

CONNECTION = "connection"
CONFLICT = "conflict"


def classify(error: BaseException) -> str | None:
    """CONNECTION (the database is away), CONFLICT (a lock or serialisation
    conflict, a busy SQLite file) or None (permanent: stop and report)."""
    # eventsourcing wraps the driver's error in its own (same name, other
    # class); the driver's is the cause, and says more.
    cause = error.__cause__
    if _is_eventsourcing_error(error) and isinstance(cause, BaseException):
        found = classify(cause)
        if found is not None:
            return found
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return CONFLICT if (code & 0xFF) in _SQLITE_TRANSIENT_CODES else None
        text = str(error).lower()
        return CONFLICT if any(w in text for w in _SQLITE_TRANSIENT_WORDS) else None
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return _classify_eventsourcing(error)
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            # Raised by the client, not the server: connection refused or
            # cut, "the connection is closed", psycopg_pool's PoolTimeout.
            return CONNECTION if isinstance(error, psycopg.OperationalError) else None
        if state[:2] == "40" or state in _PG_CONFLICT_STATES:
            return CONFLICT
        # psycopg's OperationalError also covers e.g. class 54 (an index row
        # too large): a value, not an outage. Only these classes are.
        return CONNECTION if state[:2] in _PG_CONNECTION_CLASSES else None
    return _classify_eventsourcing(error)


def _is_eventsourcing_error(error: BaseException) -> bool:
    return type(error).__module__.startswith("eventsourcing")


def _classify_eventsourcing(error: BaseException) -> str | None:
    # An eventsourcing error without a driver cause: only its own pool's
    # "no connection for you in time" is transient.
    try:
        from eventsourcing import persistence as es
    except ImportError:  # pragma: no cover
        return None
    return CONNECTION if isinstance(error, es.ConnectionUnavailableError) else None


def is_transient(error: BaseException) -> bool:
    return classify(error) is not None


def describe(error: BaseException) -> str:
    """The error in one line: its first line (psycopg adds hints below)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


class Backoff:
    """Capped exponential backoff with jitter: 0.5 s doubling to 30 s, each
    wait drawn from [delay/2, delay] so that many workers coming back after
    one outage do not knock on the server at the same instant."""

    def __init__(self, first: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.first = first
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        delay = min(self.cap, self.first * 2**self.attempts)
        self.attempts += 1
        return delay / 2 + self._rng.random() * delay / 2

    def reset(self) -> None:
        self.attempts = 0


class Outage:
    """One line when `what` goes away, one when it is back.

    `gone(error)` may be called on every failed attempt; it speaks once. A
    lock conflict is usually over at the next attempt, so it is only
    reported when it happens twice in a row. `back()` speaks only when
    something was reported."""

    def __init__(self, who: str, what: str, say: Callable[[str], Any] | None = None):
        self.who = who
        self.what = what
        self.say = say or log.warning
        self.since: float | None = None
        self.reported = False
        self.failures = 0
        self.backoff = Backoff()

    @property
    def active(self) -> bool:
        return self.since is not None

    def gone(self, error: BaseException, kind: str | None = CONNECTION) -> float:
        """Note a failed attempt; returns how long to wait before the next."""
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
        if not self.reported and (kind != CONFLICT or self.failures > 1):
            self.reported = True
            self.say(
                f"{self.who}: {self.what} unavailable ({describe(error)}); "
                "retrying with backoff up to 30 s"
            )
        return self.backoff.next()

    def back(self) -> None:
        if self.since is None:
            return
        if self.reported:
            seconds = time.monotonic() - self.since
            self.say(f"{self.who}: {self.what} back after {seconds:.1f} s; resuming")
        self.since = None
        self.reported = False
        self.failures = 0
        self.backoff.reset()


def reopen_store_connections(store: Any) -> None:
    """After an outage, throw away the event store's pooled connections that
    died with the server (PostgreSQL): each would otherwise fail once more
    when handed out. The pool also grows back if it gave up reconnecting.
    Nothing to do on SQLite (a file, opened per use)."""
    datastore = getattr(getattr(store, "recorder", None), "datastore", None)
    pool = getattr(datastore, "pool", None)
    check = getattr(pool, "check", None)
    if check is None or getattr(pool, "closed", True):
        return
    check()
