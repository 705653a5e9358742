"""Reading the notification log in keyset pages, decoded for projections.

Projections get each event as a plain dict in its *current* shape (the
mapper's upcasting applied), not as a validated pydantic object: every event
was validated when it was written, and validating again on read costs ~18 us
an event (55k events/s) - more than all the view updates together. Values
are in their JSON form: ids and times are strings.

Every row is authenticated with the store's keyring (the mapper's own
`open_state`). A row that fails - written or changed without the key - is
not dropped: it becomes a Record whose `data` and `originator_id` raise
`EventForged`, so a projection that reads it stops at that event (the runner
records it; `projections status` shows it) and forged data is never applied.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.utils import resolve_topic

from domain.persistence import open_state, upcast
from domain.personal import SEALED_KEY, open_personal
from domain.sealing import EventForged
from projections.db import ReadModelDb


class Record:
    """One event of the log: its position, its class name and its fields."""

    __slots__ = ("_data", "_originator_id", "forged", "id", "type")

    def __init__(
        self,
        id: int,  # notification id: the position in the total order
        type: str,  # the event class name, e.g. "MigrantRegistered"
        data: dict[str, Any],
        originator_id: str,  # data["originator_id"], read once
        forged: EventForged | None = None,
    ):
        self.id, self.type = id, type
        self._data, self._originator_id, self.forged = data, originator_id, forged

    @property
    def data(self) -> dict[str, Any]:
        if self.forged is not None:
            raise self.forged
        return self._data

    @property
    def originator_id(self) -> str:
        if self.forged is not None:
            raise self.forged
        return self._originator_id

    def __repr__(self) -> str:
        return f"Record({self.id}, {self.type!r}{', forged' if self.forged else ''})"


class Decoder:
    """Turns stored rows into Records, honouring the store's keyring and
    compressor (the same ones the mapper uses)."""

    def __init__(self, mapper: Any = None):
        self.keyring = getattr(mapper, "keyring", None)
        self.compressor = getattr(mapper, "compressor", None)
        self.data_keys = getattr(mapper, "data_keys", None)
        # topic -> (event class, its name, whether it may need upcasting)
        self._classes: dict[str, tuple[type, str, bool]] = {}

    def _resolve(self, topic: str) -> tuple[type, str, bool]:
        found = self._classes.get(topic)
        if found is None:
            cls = resolve_topic(topic)
            found = (cls, cls.__name__, getattr(cls, "class_version", 1) > 1)
            self._classes[topic] = found
        return found

    def _open(self, row: tuple, name: str) -> dict | Record:
        """The row's JSON (personal fields still sealed), or a forged Record."""
        notification_id, topic, state, originator_id, version = row
        try:
            data = open_state(self.keyring, self.compressor, state, originator_id, version, topic)
        except EventForged as forged:
            forged.position = notification_id
            return Record(notification_id, name, {}, str(originator_id), forged)
        return orjson.loads(data)

    def _finish(self, row: tuple, cls: type, name: str, versioned: bool, fields: dict) -> Record:
        if SEALED_KEY in fields:
            # Personal fields back, or "erased" (with what statistics keep).
            fields = open_personal(cls, fields, self.data_keys, keep=True)
        if versioned or "_v" in fields:
            fields = upcast(cls, fields)
        return Record(row[0], name, fields, fields["originator_id"])

    def _decode(self, row: tuple, cls: type, name: str, versioned: bool) -> Record:
        opened = self._open(row, name)
        if isinstance(opened, Record):
            return opened
        return self._finish(row, cls, name, versioned, opened)

    def decode_page(self, rows: list[tuple], types: frozenset[str]) -> list[Record]:
        """The page's events whose class name is in `types`, decoded, in
        order; the others (e.g. identity claims) are skipped undecoded. The
        data keys the page needs are read together first (one query per few
        hundred, not one per person: `load_many`)."""
        resolve = self._resolve
        opened: list[tuple[tuple, type, str, bool, dict | Record]] = []
        refs: set[str] = set()
        for row in rows:
            cls, name, versioned = resolve(row[1])
            if name in types:
                fields = self._open(row, name)
                if isinstance(fields, dict) and SEALED_KEY in fields:
                    refs.add(fields[SEALED_KEY]["k"])
                opened.append((row, cls, name, versioned, fields))
        load_many = getattr(self.data_keys, "load_many", None)
        if refs and load_many is not None:
            load_many(refs)
        finish = self._finish
        return [
            fields if isinstance(fields, Record) else finish(row, cls, name, versioned, fields)
            for row, cls, name, versioned, fields in opened
        ]


def read_page(db: ReadModelDb, after: int, limit: int) -> list[tuple]:
    """Rows (id, topic, state, originator id, version) with id > after, in
    order: one keyset page. The id and version are what the seal binds."""
    if not db.has_events_table():
        return []
    return db.fetchall(
        f"SELECT {db.notification_id}, topic, state, originator_id, originator_version "
        f"FROM {db.events_table} "
        f"WHERE {db.notification_id} > ? ORDER BY {db.notification_id} LIMIT ?",
        (after, limit),
    )
