"""Reading the notification log in keyset pages, decoded for projections.

Projections get each event as a plain dict in its *current* shape (the
mapper's upcasting applied), not as a validated pydantic object: every event
was validated when it was written, and validating again on read costs ~18 us
an event (55k events/s) - more than all the view updates together. Values
are in their JSON form: ids and times are strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from eventsourcing.utils import resolve_topic

from domain.persistence import upcast
from projections.db import ReadModelDb


@dataclass(slots=True)
class Record:
    """One event of the log: its position, its class name and its fields."""

    id: int  # notification id: the position in the total order
    type: str  # the event class name, e.g. "MigrantRegistered"
    data: dict[str, Any]
    originator_id: str  # data["originator_id"], read once


class Decoder:
    """Turns stored rows into Records, honouring the store's cipher and
    compressor (the same ones the mapper uses)."""

    def __init__(self, mapper: Any = None):
        self.cipher = getattr(mapper, "cipher", None)
        self.compressor = getattr(mapper, "compressor", None)
        # topic -> (event class, its name, whether it may need upcasting)
        self._classes: dict[str, tuple[type, str, bool]] = {}

    def _resolve(self, topic: str) -> tuple[type, str, bool]:
        found = self._classes.get(topic)
        if found is None:
            cls = resolve_topic(topic)
            found = (cls, cls.__name__, getattr(cls, "class_version", 1) > 1)
            self._classes[topic] = found
        return found

    def _decode(
        self, notification_id: int, state: bytes, cls: type, name: str, versioned: bool
    ) -> Record:
        data = state
        if self.cipher:
            data = self.cipher.decrypt(bytes(data))
        if self.compressor:
            data = self.compressor.decompress(bytes(data))
        fields = orjson.loads(data)
        if versioned or "_v" in fields:
            fields = upcast(cls, fields)
        return Record(notification_id, name, fields, fields["originator_id"])

    def decode_page(
        self, rows: list[tuple[int, str, bytes]], types: frozenset[str]
    ) -> list[Record]:
        """The page's events whose class name is in `types`, decoded, in
        order; the others (e.g. identity claims) are skipped undecoded."""
        records = []
        resolve = self._resolve
        for notification_id, topic, state in rows:
            cls, name, versioned = resolve(topic)
            if name in types:
                records.append(self._decode(notification_id, state, cls, name, versioned))
        return records


def read_page(db: ReadModelDb, after: int, limit: int) -> list[tuple[int, str, bytes]]:
    """Rows (id, topic, state) with id > after, in order: one keyset page."""
    if not db.has_events_table():
        return []
    return db.fetchall(
        f"SELECT {db.notification_id}, topic, state FROM {db.events_table} "
        f"WHERE {db.notification_id} > ? ORDER BY {db.notification_id} LIMIT ?",
        (after, limit),
    )
