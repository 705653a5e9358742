"""How events meet the eventsourcing library: mapper, transcoder, store.

The library's default mapper rebuilds events without calling `__init__`; ours
validates every event read back with pydantic and upcasts old shapes, so a
corrupt or outdated row is caught at the edge, not deep in a screen.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import orjson
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    ProcessRecorder,
    StoredEvent,
    Tracking,
    Transcoder,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain.errors import ConcurrentUpdate, NotFound
from domain.model import Aggregate, DomainEvent

# Stored only when an event class is beyond version 1, so most rows carry no
# extra key.
SCHEMA_VERSION_KEY = "_v"


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


def upcast(event_class: type[DomainEvent], state: dict[str, Any]) -> dict[str, Any]:
    version = state.pop(SCHEMA_VERSION_KEY, 1)
    while version < event_class.class_version:
        step = getattr(event_class, f"upcast_v{version}_v{version + 1}")
        state = step(state)
        version += 1
    return state


class PydanticMapper(Mapper):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        event = cast(DomainEvent, domain_event)
        state = event.model_dump(mode="json")
        if type(event).class_version > 1:
            state[SCHEMA_VERSION_KEY] = type(event).class_version
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=get_topic(type(event)),
            state=data,
        )

    def to_state(self, stored_event: StoredEvent) -> tuple[type[DomainEvent], dict[str, Any]]:
        """The event's class and its (upcast) JSON state, without building the
        pydantic object: the NATS publisher sends the state as it is."""
        data = stored_event.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        event_class = resolve_topic(stored_event.topic)
        return event_class, upcast(event_class, self.transcoder.decode(data))

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event_class, state = self.to_state(stored_event)
        return event_class.model_validate(state)


class EventStore(Application):
    """The one event-sourced application holding every aggregate of Msafiri.

    One application means one notification log, so every event of the system
    has a single total order: the audit hash chain, the projections and the
    NATS publisher all follow it. Its recorder is a *process* recorder so a
    process (e.g. assistance request -> pending disbursement) can store its
    tracking position in the same transaction as the events it writes.
    """

    name = "msafiri"
    env: ClassVar[dict[str, str]] = {
        "TRANSCODER_TOPIC": get_topic(OrjsonTranscoder),
        "MAPPER_TOPIC": get_topic(PydanticMapper),
    }

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Settings are read once, by the composition root; the library must
        # not pick up stray variables from os.environ.
        from eventsourcing.utils import Environment

        merged = dict(type(self).env)
        merged.update(env or {})
        return Environment(name, merged)

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def get(self, aggregate_id: Any, what: str = "record") -> Any:
        from eventsourcing.application import AggregateNotFoundError

        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what} with id {aggregate_id}") from None

    def exists(self, aggregate_id: Any) -> bool:
        # One stored event answers it; `id in repository` would rebuild the
        # whole aggregate (the fund's book: its entire history) to say yes.
        return any(True for _ in self.events.get(aggregate_id, limit=1))

    def save_all(self, *aggregates: Aggregate, tracking: Tracking | None = None) -> Any:
        """Atomically store the pending events of the aggregates (and a tracking
        position), turning a version conflict into a named, retryable error."""
        processing = ProcessingEvent(tracking=tracking)
        processing.collect_events(*aggregates)
        try:
            recordings = self._record(processing)
        except IntegrityError as error:
            raise ConcurrentUpdate(
                "someone else changed this record at the same moment; reload and try again"
            ) from error
        self._notify(recordings)
        return recordings
