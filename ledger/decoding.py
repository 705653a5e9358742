"""The book's stored rows (and its snapshot's) decoded, with the data keys
they are sealed under read together first.

Each reservation's and transfer's memo names its payee, so it is sealed under
its disbursement's data key (domain/personal.py); decoding row by row reads
each key with its own query the first time a process meets it. A cold book -
the first money command of a process, `fund balances` - met one per open
reservation (32 queries and ~110 of a first approve's ~200 ms, measured on
the fifty-officer workload). Here the keys are collected first and read in
one query (`DataKeys.load_many`, as the projections' decoder does); the rows
are then decoded by the mapper as usual, every key found in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.personal import SEALED_KEY


def decoded(mapper: Any, rows: list[Any]) -> list[Any]:
    """The rows as the mapper's objects, in order."""
    load_many = getattr(getattr(mapper, "data_keys", None), "load_many", None)
    if load_many is not None and rows:
        refs = {ref for row in rows for ref in _key_refs(mapper, row)}
        if refs:
            load_many(refs)
    return [mapper.to_domain_event(row) for row in rows]


def _key_refs(mapper: Any, row: Any) -> Iterable[str]:
    """The data keys a row's sealed fields need: its own, and a snapshot's
    open reservations' (ledger/snapshot.py). Opening a row twice costs
    microseconds; a query per key is what this saves."""
    data = mapper.open(row)
    state = mapper.transcoder.decode(data)
    entry = state.get(SEALED_KEY)
    if entry is not None:
        yield entry["k"]
    nested = state.get("state")
    if isinstance(nested, dict):
        for pending in nested.get("pendings", ()):
            entry = pending.get(SEALED_KEY) if isinstance(pending, dict) else None
            if entry is not None:
                yield entry["k"]
