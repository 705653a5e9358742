"""The trail an auditor reads: every event with its position, who, when and
its chain link - as JSON Lines, filtered by officer, role, time or type, or as
the state of a record as of a position or a date."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from domain.model import DomainEvent
from domain.persistence import EventStore
from projections.audit.chain import StoredRow
from projections.audit.secret_fields import mask, secrets_of
from projections.audit.store import AuditStore


def event_type(topic: str) -> str:
    return topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


def trail_line(store: EventStore, row: StoredRow, link: bytes | None) -> dict[str, Any]:
    """One event as an auditor's export line (and what the TUI's event screens
    show). `stored_state_b64` is the exact stored bytes, so the chain can be
    recomputed from the export alone - except for an event with a secret field
    (secret_fields.py): its payload shows the field as withheld and its stored
    bytes (which hold the secret) are left out; `docs/verify_chain.py` takes
    that line's link as given and `msafiri audit verify` checks it."""
    event: DomainEvent = store.mapper.to_domain_event(_as_stored(row))
    payload = event.model_dump(mode="json")
    for key in ("originator_id", "originator_version", "timestamp", "actor_id", "actor_role"):
        payload.pop(key, None)
    occurred = payload.pop("occurred_at", None)
    kind = event_type(row.topic)
    secret = secrets_of(kind)
    line = {
        "position": row.position,
        "event_id": row.event_id,
        "aggregate_id": str(row.originator_id),
        "version": row.originator_version,
        "type": kind,
        "topic": row.topic,
        "actor_id": str(event.actor_id),
        "actor_role": event.actor_role.value,
        "recorded_at": event.timestamp.isoformat(),
        "occurred_at": occurred,
        "payload": mask(payload, secret) if secret else payload,
        "stored_state_b64": None if secret else base64.b64encode(row.state).decode(),
        "chain_link": link.hex() if link is not None else None,
    }
    if secret:
        line["stored_state_withheld"] = sorted(secret)
    return line


def record_lines(store: EventStore, aggregate_id: UUID) -> Iterator[dict[str, Any]]:
    """One record's events (an incident's report, assessments, notes ...) in
    the trail line's shape without position or link, secrets withheld, for a
    screen or command that shows a record in full; pass each through the
    viewer's Disclosure reader before showing it."""
    for event in store.events.get(aggregate_id):
        payload = event.model_dump(mode="json")
        for key in ("originator_id", "originator_version", "timestamp", "actor_id", "actor_role"):
            payload.pop(key, None)
        occurred = payload.pop("occurred_at", None)
        kind = type(event).__name__
        secret = secrets_of(kind)
        yield {
            "aggregate_id": str(event.originator_id),
            "version": event.originator_version,
            "type": kind,
            "actor_id": str(event.actor_id),
            "actor_role": event.actor_role.value,
            "recorded_at": event.timestamp.isoformat(),
            "occurred_at": occurred,
            "payload": mask(payload, secret) if secret else payload,
        }


def _as_stored(row: StoredRow):
    from eventsourcing.persistence import StoredEvent

    return StoredEvent(
        originator_id=row.originator_id,
        originator_version=row.originator_version,
        topic=row.topic,
        state=row.state,
    )


def export_lines(
    store: EventStore,
    audit: AuditStore,
    keep: Callable[[dict[str, Any]], bool] | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    disclose: Callable[[dict[str, Any]], dict[str, Any]],
) -> Iterator[dict[str, Any]]:
    """Every event in order with its chain link (None past the chain's head),
    as the viewer may see it: `disclose` is the viewer's
    `Disclosure.reader(viewer).line` (projections/disclosure.py), which masks
    a restricted incident's free text the viewer has no access to (lines come
    in log order, so it learns each incident from its first event)."""
    links = audit.chain()
    link = next(links, None)
    for row in audit.rows():
        while link is not None and link.position < row.position:
            link = next(links, None)
        line = trail_line(store, row, link.link if link and link.position == row.position else None)
        if progress:
            progress(1)
        if keep is None or keep(line):
            yield disclose(line)


def case_filter(migrant_id: UUID) -> Callable[[dict[str, Any]], bool]:
    """Everything about one migrant: the case, its incidents and the fund's
    requests and payments for them (for a migrant's own request)."""
    related = {str(migrant_id)}

    def keep(line: dict[str, Any]) -> bool:
        if line["aggregate_id"] in related:
            return True
        if line["payload"].get("migrant_id") == str(migrant_id):
            related.add(line["aggregate_id"])
            return True
        return False

    return keep


def version_as_of(
    store: EventStore,
    audit: AuditStore,
    aggregate_id: UUID,
    position: int | None = None,
    moment: datetime | None = None,
) -> int:
    """The aggregate's last version at a log position or a recorded time
    (0: it did not exist yet)."""
    if position is None or moment is not None:
        # A recorded time is inside each event's state, so the events are read.
        version = 0
        for event in store.events.get(aggregate_id):
            if moment is not None and event.timestamp > moment:
                break
            version = event.originator_version
    else:
        # A position alone is answered by the query below: decoding every
        # event of the aggregate first would only be thrown away.
        version = None
    if position is not None:
        conn = audit.connect()
        try:
            m = audit.mark
            row = conn.execute(
                f"SELECT MAX(originator_version) FROM {audit.events_table} "
                f"WHERE originator_id = {m} AND {audit.position_column} <= {m}",
                (_id_param(audit, aggregate_id), position),
            ).fetchone()
        finally:
            conn.close()
        at_position = int(row[0] or 0)
        version = at_position if version is None else min(version, at_position)
    assert version is not None
    return version


def _id_param(audit: AuditStore, aggregate_id: UUID) -> Any:
    # The SQLite recorder stores ids as 32 hex digits; PostgreSQL as uuid.
    return aggregate_id.hex if audit.backend == "sqlite" else aggregate_id


def state_as_of(
    store: EventStore,
    audit: AuditStore,
    aggregate_id: UUID,
    position: int | None = None,
    moment: datetime | None = None,
) -> Any:
    version = version_as_of(store, audit, aggregate_id, position, moment)
    if version == 0:
        return None
    return store.repository.get(aggregate_id, version=version)


def state_fields(state: Any) -> dict[str, Any]:
    """An aggregate's state as JSON-ready fields for `msafiri audit as-of`:
    secrets withheld (secret_fields.py), mapping keys as text (a book's
    `reversed` is keyed by transfer id), a book's accounts as balances."""
    shown = {
        k: v for k, v in vars(state).items() if not k.startswith("_") and k not in ("transfers",)
    }
    if "accounts" in shown:
        shown["accounts"] = {
            key: {"posted": a.posted, "pending": a.pending, "available": a.available}
            for key, a in state.accounts.items()
        }
        shown["pendings"] = len(state.pendings)
    return _jsonable(mask(shown))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _key(key: Any) -> str:
    return str(key.value) if isinstance(key, Enum) else str(key)
