"""The hash chain: every stored event, in notification-log order, linked to
the one before it.

    link(n) = SHA-256( link(n-1) || position || originator id || version
                       || len(topic) || topic || len(state) || state )

with `link(0)` = 32 zero bytes. The inputs are the *stored* bytes (what the
recorder holds, encrypted or not), so anyone with a copy of the rows - or a
JSON Lines export - can recompute the chain without Msafiri (see
`docs/verify_chain.py`). Altering, inserting, deleting or reordering a stored
event changes every link after it; a published checkpoint (position + head
hash) lets an auditor detect even a rewrite of the whole chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from uuid import UUID

GENESIS = bytes(32)


@dataclass(frozen=True)
class StoredRow:
    """One row of the event store, as stored."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes

    @property
    def event_id(self) -> str:
        return f"{self.originator_id}/{self.originator_version}"


@dataclass(frozen=True)
class ChainLink:
    position: int
    originator_id: UUID
    originator_version: int
    link: bytes

    @property
    def event_id(self) -> str:
        return f"{self.originator_id}/{self.originator_version}"


def link(previous: bytes, row: StoredRow) -> bytes:
    topic = row.topic.encode()
    digest = hashlib.sha256()
    digest.update(previous)
    digest.update(row.position.to_bytes(8, "big"))
    digest.update(row.originator_id.bytes)
    digest.update(row.originator_version.to_bytes(8, "big"))
    digest.update(len(topic).to_bytes(4, "big"))
    digest.update(topic)
    digest.update(len(row.state).to_bytes(8, "big"))
    digest.update(row.state)
    return digest.digest()


def extend(previous: bytes, rows: Iterable[StoredRow]) -> Iterator[ChainLink]:
    for row in rows:
        previous = link(previous, row)
        yield ChainLink(row.position, row.originator_id, row.originator_version, previous)


DELETED = "event deleted: chained, not in the log"


@dataclass(frozen=True)
class Finding:
    """Something in the store that is not what was chained."""

    position: int
    event_id: str
    problem: str

    def __str__(self) -> str:
        return f"position {self.position} (event {self.event_id}): {self.problem}"


@dataclass
class Verification:
    checked: int = 0
    unchained: int = 0
    head: ChainLink | None = None
    findings: list[Finding] | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(rows: Iterable[StoredRow], chain: Iterable[ChainLink], limit: int = 20) -> Verification:
    """Walk the stored events and the stored chain side by side, in position
    order, and report where they part: a changed byte, a deleted, inserted or
    reordered event, or an altered link. Each link is checked against the
    stored link before it, so one alteration is reported once, not again at
    every later position."""
    result = Verification(findings=[])
    findings = result.findings
    assert findings is not None
    row_iter, chain_iter = iter(rows), iter(chain)
    row, chained = next(row_iter, None), next(chain_iter, None)
    previous = GENESIS
    while row is not None or chained is not None:
        if len(findings) >= limit:
            break
        if chained is None:
            assert row is not None
            result.unchained += 1  # newer than the chain's head: not chained yet
            row = next(row_iter, None)
            continue
        if row is None or chained.position < row.position:
            findings.append(Finding(chained.position, chained.event_id, DELETED))
            previous = chained.link
            chained = next(chain_iter, None)
            continue
        if row.position < chained.position:
            findings.append(
                Finding(row.position, row.event_id, "event inserted: in the log, never chained")
            )
            row = next(row_iter, None)
            continue
        result.checked += 1
        if (row.originator_id, row.originator_version) != (
            chained.originator_id,
            chained.originator_version,
        ):
            findings.append(
                Finding(
                    row.position,
                    row.event_id,
                    f"out of order or replaced: the chain has event {chained.event_id} here",
                )
            )
        elif link(previous, row) != chained.link:
            findings.append(
                Finding(
                    row.position,
                    row.event_id,
                    "altered: its stored bytes (payload or topic) or its chain link differ "
                    "from what was chained",
                )
            )
        previous = chained.link
        result.head = chained
        row, chained = next(row_iter, None), next(chain_iter, None)
    return result
