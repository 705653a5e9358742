"""What sign-in keeps outside the event log: failed-attempt counters and the
record of every sign-in, failure, lockout and sign-out.

Not events: a failed sign-in by an unknown username has no aggregate to
belong to (and must lock out all the same, or the lock would tell which
usernames exist), and a guesser must not be able to grow the event log.
The store (msafiri/sign_in_records.py, tables from migrations/0008) keeps
the counter in the database, so every process and machine sees one lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

# What an access-log entry of sign-in says it was (`action`) ...
SIGN_IN = "sign-in"
SIGN_OUT = "sign-out"
LOCKOUT = "lockout"
PASSWORD_CHANGE = "password-change"
# ... and how it ended (`outcome`).
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUSED_LOCKED = "refused-locked"
LOCKED = "locked"
BY_OFFICER = "by-officer"
IDLE = "idle"


@dataclass(frozen=True)
class AccessEntry:
    """One line of the access log (sign-in part): who, in which role, when,
    what, how it ended, and over what."""

    username: str
    action: str
    outcome: str
    at: datetime
    officer_id: UUID | None = None  # None: the username names no officer
    role: str | None = None  # the role acted in, when known
    interface: str = "cli"  # "tui" or "cli"
    # How the officer reached the interface: "terminal", "ssh" or "browser"
    # (`msafiri serve`); the CLI runs in a terminal or over SSH.
    connection: str = "terminal"
    detail: str | None = None
    # Reads (issue 14 item 4): the record read, and the reason given for it.
    subject_kind: str | None = None  # "case", "incident", "access_entry" ...
    subject_id: str | None = None
    reason: str | None = None
    # Not stored: asks the writer to add a "grant_use" entry after this read
    # when, at its time, only a grant or break-glass let the officer make it
    # (projections/access_log/grant_uses.py) - answered when the batch is
    # written, in the background, so the read itself waits on no query.
    check_grant_use: bool = False


@dataclass(frozen=True)
class LockoutRule:
    max_failures: int = 5
    period: timedelta = timedelta(minutes=15)


class SignInRecords(Protocol):
    def locked_until(self, username: str, now: datetime) -> datetime | None:
        """When the username's lock ends, if it is locked at `now`."""

    def record_failure(self, entry: AccessEntry, rule: LockoutRule) -> datetime | None:
        """Count a failed attempt and log it, atomically (one transaction,
        whichever process races): failures counted within `rule.period`
        reaching `rule.max_failures` lock the username for `rule.period`
        (logged once, as a lockout). Returns when the lock ends if the
        username is locked now."""

    def record_success(self, entry: AccessEntry) -> None:
        """Forget the username's failures and log the sign-in."""

    def append(self, entry: AccessEntry) -> None:
        """Log an entry (sign-out, refusal while locked, password change)."""
