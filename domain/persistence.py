"""How events meet the eventsourcing library: mapper, transcoder, store.

The library's default mapper rebuilds events without calling `__init__`; ours
validates every event read back with pydantic and upcasts old shapes, so a
corrupt or outdated row is caught at the edge, not deep in a screen. It also
seals every stored state with the keyring (domain/sealing.py: AES-GCM bound
to the row), so what is at rest is encrypted and a row written without the
key fails authentication when read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, ClassVar, cast

import orjson
from eventsourcing.application import Application, ProcessingEvent, Repository
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
from domain.personal import SEALED_KEY, DataKeys, open_personal, seal_personal
from domain.sealing import EncryptionOff, Keyring, is_sealed

# Stored only when an event class is beyond version 1, so most rows carry no
# extra key.
SCHEMA_VERSION_KEY = "_v"


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


_hooks: dict[tuple[type, str], Any] = {}


def _class_hook(event_class: type, name: str) -> Any:
    """`getattr(event_class, name, None)`, remembered per class: on a
    pydantic model class a missing attribute goes through the metaclass's
    `__getattr__` and an AttributeError, ~1 us on every event mapped."""
    try:
        return _hooks[event_class, name]
    except KeyError:
        hook = _hooks[event_class, name] = getattr(event_class, name, None)
        return hook


def upcast(event_class: type[DomainEvent], state: dict[str, Any]) -> dict[str, Any]:
    version = state.pop(SCHEMA_VERSION_KEY, 1)
    while version < event_class.class_version:
        step = getattr(event_class, f"upcast_v{version}_v{version + 1}")
        state = step(state)
        version += 1
    return state


class PydanticMapper(Mapper):
    """Pydantic events to stored rows and back, sealed with `keyring` (set
    by the EventStore; None only when encryption is switched off)."""

    keyring: Keyring | None = None
    # Per-migrant data keys (domain/personal.py); None when switched off.
    data_keys: DataKeys | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.cipher is not None:
            # The library's cipher binds no row and has one key (FIELD-NOTES).
            raise ValueError("CIPHER_KEY/CIPHER_TOPIC must stay unset: the mapper seals events")

    def make_subject_keys(self, events: Any) -> None:
        """Before mapping a save: the data keys of its events that name their
        migrant, made first. An event keyed to a record without naming the
        migrant (a reservation's memo, keyed to its request) is sealed under
        that key only if it exists when the event is mapped; in a save that
        also starts the record - a request and its reservation, the book's
        event mapped first - it did not, and the memo (the payee's name) was
        stored under the master key alone, out of reach of an erasure. The
        same keys mapping would make, earlier: no query more."""
        if self.data_keys is None:
            return
        for event in events:
            cls = type(event)
            field = getattr(cls, "data_subject_field", None)
            if not field or not getattr(cls, "personal", ()):
                continue
            key_ref, subject = getattr(event, cls.data_key_field, None), getattr(event, field, None)
            if key_ref is not None and subject is not None:
                self.data_keys.for_writing(str(key_ref), str(subject))

    def prepare_data_keys(self, events: Any) -> None:
        """Before mapping a batch of events: have every data key their
        personal fields will be sealed under ready in a few queries for the
        batch (`DataKeys.prepare`, when the key store has it), not a few per
        new migrant. Sealing then finds each key in memory."""
        prepare = getattr(self.data_keys, "prepare", None)
        if prepare is None:
            return
        # Collected by the events' own values (UUIDs), each turned into text
        # once per key, not per event: an import's batch has ~3 events per key.
        wanted: dict[Any, Any] = {}
        for event in events:
            cls = type(event)
            if not getattr(cls, "personal", ()):
                continue
            key_ref = getattr(event, cls.data_key_field, None)
            if key_ref is None:
                continue
            field = cls.data_subject_field
            subject = getattr(event, field, None) if field else None
            if subject is not None or key_ref not in wanted:
                wanted[key_ref] = subject
        if not wanted:
            return
        refs: dict[str, str | None] = {}
        for key_ref, subject in wanted.items():
            ref = str(key_ref)
            if subject is not None or ref not in refs:
                refs[ref] = None if subject is None else str(subject)
        prepare(refs)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        # One StoredEvent, sealed as it is made (not a plain one, then a
        # sealed copy): the import and the demo map every event here.
        data = self._state_bytes(domain_event, personal=True)
        event = cast(DomainEvent, domain_event)
        topic = get_topic(type(event))
        if self.keyring is not None:
            data = self.keyring.seal(data, event.originator_id, event.originator_version, topic)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=topic,
            state=data,
        )

    def to_plain_stored_event(self, domain_event: Any, personal: bool = False) -> StoredEvent:
        """The row before sealing (the demo builds these in worker processes,
        which never see the key, and seals them in the writing process);
        with `personal`, its personal fields already under their data key."""
        event = cast(DomainEvent, domain_event)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=get_topic(type(event)),
            state=self._state_bytes(event, personal),
        )

    def _state_bytes(self, event: Any, personal: bool) -> bytes:
        """The event's JSON state (personal fields sealed, with `personal`),
        encoded and compressed, before the outer seal."""
        event_class = type(event)
        # model_dump(mode="json")'s own serializer call, without its wrapper.
        state = event.__pydantic_serializer__.to_python(event, mode="json")
        if event_class.class_version > 1:
            state[SCHEMA_VERSION_KEY] = event_class.class_version
        if personal and self.data_keys is not None:
            if getattr(event_class, "personal", ()):
                state = seal_personal(event_class, state, self.data_keys)
            nested = _class_hook(event_class, "seal_nested")
            if nested is not None:  # e.g. a book snapshot's open reservations
                state = nested(state, self.data_keys)
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        return data

    def seal(self, stored: StoredEvent) -> StoredEvent:
        """A plain row sealed: its personal fields under their data key,
        then the whole state under the master key."""
        return self.seal_many([stored])[0]

    def seal_many(self, rows: list[StoredEvent]) -> list[StoredEvent]:
        """Plain rows sealed (the demo's and the import's batches). The data
        keys the batch needs are made together first (one transaction, when
        the key table can: `prepare`), not one commit per new person."""
        if self.data_keys is None:
            return [self._seal_state(stored) for stored in rows]
        decoded: list[tuple[type, dict[str, Any]] | None] = []
        wanted: dict[str, str] = {}
        for stored in rows:
            event_class = resolve_topic(stored.topic)
            if not getattr(event_class, "personal", ()):
                decoded.append(None)
                continue
            data = stored.state
            if self.compressor:
                data = self.compressor.decompress(data)
            state = self.transcoder.decode(data)
            if SEALED_KEY in state:
                decoded.append(None)
                continue
            decoded.append((event_class, state))
            subject_field = getattr(event_class, "data_subject_field", None)
            key_ref = state.get(event_class.data_key_field)
            subject = state.get(subject_field) if subject_field else None
            if key_ref is not None and subject is not None:
                wanted.setdefault(str(key_ref), str(subject))
        prepare = getattr(self.data_keys, "prepare", None)
        if wanted and prepare is not None:
            prepare(wanted)
        sealed = []
        for stored, found in zip(rows, decoded, strict=True):
            if found is not None:
                event_class, state = found
                data = self.transcoder.encode(seal_personal(event_class, state, self.data_keys))
                if self.compressor:
                    data = self.compressor.compress(data)
                stored = StoredEvent(
                    originator_id=stored.originator_id,
                    originator_version=stored.originator_version,
                    topic=stored.topic,
                    state=data,
                )
            sealed.append(self._seal_state(stored))
        return sealed

    def _seal_state(self, stored: StoredEvent) -> StoredEvent:
        if self.keyring is None:
            return stored
        return StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=self.keyring.seal(
                stored.state, stored.originator_id, stored.originator_version, stored.topic
            ),
        )

    def open(self, stored_event: StoredEvent) -> bytes:
        """The stored state, authenticated and decrypted (EventForged when it
        fails), then decompressed: the one decoding every reader uses."""
        return open_state(
            self.keyring,
            self.compressor,
            stored_event.state,
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
        )

    def to_state(self, stored_event: StoredEvent) -> tuple[type[DomainEvent], dict[str, Any]]:
        """The event's class and its (upcast) JSON state, without building the
        pydantic object: the NATS publisher sends the state as it is."""
        return self._open_fields(*self._decoded(stored_event))

    def _decoded(self, stored_event: StoredEvent) -> tuple[type[DomainEvent], dict[str, Any]]:
        """The event's class and its JSON state, personal fields still sealed."""
        data = self.open(stored_event)
        return resolve_topic(stored_event.topic), self.transcoder.decode(data)

    def _open_fields(
        self, event_class: type[DomainEvent], state: dict[str, Any]
    ) -> tuple[type[DomainEvent], dict[str, Any]]:
        if SEALED_KEY in state:
            state = open_personal(event_class, state, self.data_keys)
        nested = _class_hook(event_class, "open_nested")
        if nested is not None:
            state = nested(state, self.data_keys)
        return event_class, upcast(event_class, state)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event_class, state = self.to_state(stored_event)
        return event_class.model_validate(state)

    def to_domain_events(self, stored_events: Iterable[StoredEvent]) -> list[Any]:
        """Several rows as their events, in order, the data keys they need read
        together first (`DataKeys.load_many`, as the projections' decoder
        does): row by row, each key not yet in memory is a query of its own -
        a cold fund book met one per open reservation (~110 ms of a first
        approval's ~200). Each row is opened once."""
        decoded = [self._decoded(stored) for stored in stored_events]
        load_many = getattr(self.data_keys, "load_many", None)
        if load_many is not None:
            refs = set()
            for event_class, state in decoded:
                if SEALED_KEY in state:
                    refs.add(state[SEALED_KEY]["k"])
                nested = _class_hook(event_class, "nested_key_refs")
                if nested is not None:
                    refs.update(nested(state))
            if refs:
                load_many(refs)
        return [
            event_class.model_validate(self._open_fields(event_class, state)[1])
            for event_class, state in decoded
        ]


def open_state(
    keyring: Keyring | None,
    compressor: Any,
    state: bytes,
    originator_id: Any,
    version: int,
    topic: str,
) -> bytes:
    """A stored state as plain bytes (the mapper's and the projections' fast
    decoder's one way in). With a keyring the state must authenticate for
    its row; without one (encryption off) a sealed state cannot be read."""
    if keyring is not None:
        data = keyring.open(state, originator_id, version, topic)
    elif is_sealed(state):
        raise EncryptionOff(
            "the stored events are encrypted; they cannot be read with MSAFIRI_ENCRYPTION=off"
        )
    else:
        data = state
    if compressor:
        data = compressor.decompress(data)
    return data


def project_events(aggregate: Any, domain_events: Any) -> Any:
    """The library's `project_aggregate` without its per-event
    `assert isinstance(event, CanMutateProtocol)`: a check against a
    runtime-checkable Protocol costs ~200 us an event on Python 3.11 (11% of
    `msafiri audit verify`, measured), and every event here is a DomainEvent
    whose `mutate` checks the version order itself."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class _Repository(Repository):
    """The library's repository, replaying with `project_events` by default."""

    def get(self, aggregate_id: Any, *, projector_func: Any = project_events, **kwargs: Any) -> Any:
        return super().get(aggregate_id, projector_func=projector_func, **kwargs)


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

    def __init__(
        self, env: Any = None, keyring: Keyring | None = None, data_keys: DataKeys | None = None
    ):
        # Before the base class builds the mapper (construct_mapper).
        self._keyring = keyring
        self._key_locks: dict[Any, threading.RLock] = {}
        self._key_locks_guard = threading.Lock()
        self._data_keys = data_keys
        super().__init__(env)

    def construct_mapper(self) -> Any:
        mapper = super().construct_mapper()
        assert isinstance(mapper, PydanticMapper)
        mapper.keyring = self._keyring
        mapper.data_keys = self._data_keys
        return mapper

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Settings are read once, by the composition root; the library must
        # not pick up stray variables from os.environ.
        from eventsourcing.utils import Environment

        merged = dict(type(self).env)
        merged.update(env or {})
        return Environment(name, merged)

    def construct_repository(self) -> Any:
        repository = super().construct_repository()
        repository.__class__ = _Repository  # same state, the faster default replay
        return repository

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

    @contextmanager
    def serialised(self, key: Any) -> Iterator[None]:
        """Run the block as the only writer deciding for `key` (e.g. the
        fund's book): reads in the block see everything the previous holder
        saved, so its save cannot lose an optimistic version race, and a
        busy moment makes officers wait in turn instead of fail.

        Threads of this process queue on a local lock first, so a busy
        process holds one database connection for the key, not one per
        thread. Across processes the recorder holds the key if it can (our
        PostgreSQL recorder: a transaction-scoped advisory lock, in the
        transaction the block's saves are written in). SQLite's recorder has
        no such hook: its writers are already serialised by the database, and
        the rare race between two processes falls back to the caller's
        retry of the whole command."""
        with self._key_locks_guard:
            local = self._key_locks.setdefault(key, threading.RLock())
        hold = getattr(self.recorder, "serialised", None)
        with local, hold(key) if hold is not None else nullcontext():
            yield

    def save_all(self, *aggregates: Aggregate, tracking: Tracking | None = None) -> Any:
        """Atomically store the pending events of the aggregates (and a tracking
        position), turning a version conflict into a named, retryable error."""
        processing = ProcessingEvent(tracking=tracking)
        processing.collect_events(*aggregates)
        make_keys = getattr(self.mapper, "make_subject_keys", None)
        if make_keys is not None:
            make_keys(processing.events)
        try:
            recordings = self._record(processing)
        except IntegrityError as error:
            raise ConcurrentUpdate(
                "someone else changed this record at the same moment; reload and try again"
            ) from error
        self._notify(recordings)
        return recordings
