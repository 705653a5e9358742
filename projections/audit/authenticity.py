"""Whether a stored event was written by Msafiri with its key.

Every stored state is sealed with AES-GCM bound to its row (domain/sealing.py).
A row inserted or changed by SQL without the key - or a genuine ciphertext
copied into another row - fails to open. The chainer refuses to chain such a
row (it stops before it), and `audit verify` names it, chained or not. The
chain itself stays a hash over the stored bytes, checkable without the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from domain.sealing import EventForged, Keyring
from projections.audit.chain import Finding, StoredRow

# A row's reason for failing authentication, or None when it is authentic.
Authenticate = Callable[[StoredRow], str | None]


def authenticator(keyring: Keyring | None) -> Authenticate | None:
    """The check for this keyring (None when encryption is off: nothing to
    check against)."""
    if keyring is None:
        return None

    def authenticate(row: StoredRow) -> str | None:
        try:
            keyring.open(row.state, row.originator_id, row.originator_version, row.topic)
        except EventForged as forged:
            return forged.reason
        return None

    return authenticate


def forgery(row: StoredRow, reason: str) -> Finding:
    return Finding(
        row.position,
        row.event_id,
        f"fails authentication, not written by Msafiri with its key: {reason}",
    )


class Authenticated:
    """The rows, passed through unchanged, each checked on the way: the
    verifier reads the log once and `findings` names every forged row."""

    def __init__(self, rows: Iterable[StoredRow], authenticate: Authenticate | None):
        self.rows, self.authenticate = rows, authenticate
        self.findings: list[Finding] = []

    def __iter__(self) -> Iterator[StoredRow]:
        authenticate = self.authenticate
        for row in self.rows:
            if authenticate is not None and (reason := authenticate(row)) is not None:
                self.findings.append(forgery(row, reason))
            yield row
