"""The access log's hash chain, built like the event log's audit chain
(projections/audit/chain.py):

    link(n) = SHA-256( link(n-1) || canonical JSON of entry n )

with `link(0)` = 32 zero bytes. The canonical JSON is the list of the
entry's fields in the fixed order of `CHAINED` (its `seq` first), so anyone
with the rows can recompute the chain. Changing any field of an entry
breaks its own link; deleting one leaves a gap in `seq` and breaks the link
of the entry after it; inserting one breaks its link. Each entry is checked
against the *stored* link before it, so one alteration is reported once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = bytes(32)

# The fields a link covers, in the order they are hashed.
CHAINED = (
    "seq",
    "recorded_at",
    "username",
    "officer_id",
    "role",
    "action",
    "outcome",
    "interface",
    "connection",
    "subject_kind",
    "subject_id",
    "reason",
    "detail",
)


def canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(
        [entry.get(name) for name in CHAINED], ensure_ascii=False, separators=(",", ":")
    ).encode()


def entry_link(previous: bytes, entry: Mapping[str, Any]) -> bytes:
    digest = hashlib.sha256(previous)
    digest.update(canonical(entry))
    return digest.digest()


@dataclass(frozen=True)
class Finding:
    """Where the stored log is not what was chained."""

    seq: int | None
    entry_id: int
    problem: str

    def __str__(self) -> str:
        where = f"position {self.seq}" if self.seq is not None else "no position"
        return f"{where} (entry {self.entry_id}): {self.problem}"


@dataclass
class Verification:
    checked: int = 0
    head_seq: int = 0
    head_link: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(rows: Iterable[Mapping[str, Any]], limit: int = 20) -> Verification:
    """Walk the stored entries in chain order (`seq`) and name each one whose
    link does not follow from the stored link before it, each gap in the
    positions (entries deleted) and each entry outside the chain."""
    result = Verification()
    previous, expected_seq = GENESIS, 1
    for row in rows:
        if len(result.findings) >= limit:
            break
        seq = row["seq"]
        if seq is None or row.get("link") is None:
            result.findings.append(
                Finding(seq, row["entry_id"], "not chained: an entry inserted outside Msafiri")
            )
            continue
        result.checked += 1
        if seq != expected_seq:
            missing = (
                f"positions {expected_seq}-{seq - 1}"
                if seq - 1 > expected_seq
                else f"position {expected_seq}"
            )
            result.findings.append(
                Finding(seq, row["entry_id"], f"{missing} missing before it: entries deleted")
            )
        elif entry_link(previous, row).hex() != row["link"]:
            result.findings.append(
                Finding(
                    seq,
                    row["entry_id"],
                    "altered: its fields or its link differ from what was chained",
                )
            )
        try:
            previous = bytes.fromhex(row["link"])
        except ValueError:  # not even a hash: what it should have been goes on
            previous = entry_link(previous, row)
            if not result.findings or result.findings[-1].entry_id != row["entry_id"]:
                result.findings.append(Finding(seq, row["entry_id"], "altered: its link"))
        expected_seq = seq + 1
        result.head_seq, result.head_link = seq, row["link"]
    return result
