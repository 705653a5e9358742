"""The building blocks every aggregate of Msafiri is made of.

Events are frozen pydantic models, so an event is validated when it is made
*and* when it is read back from the store (the mapper in `persistence.py`
calls `model_validate`). Each event knows how to apply itself to its
aggregate; aggregates hold the guards and decide which event to trigger.

Every event records who (officer id and role), when it was recorded
(`timestamp`, UTC) and when the thing it describes happened in the world
(`occurred_at`, UTC) - an incident reported late keeps its real date.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any, ClassVar, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.personal import PersonalFields
from domain.values import Role, UtcDatetime, utcnow

# When events are recorded: the wall clock, unless a writer of past history
# sets this for the events it triggers. Only the demo does (it writes years of
# synthetic history, each event at the moment an officer would have recorded
# it); officers' commands never set it, so their events carry the real time.
recording_time: ContextVar[datetime | None] = ContextVar("recording_time", default=None)


class Actor(BaseModel):
    """The officer acting, and the role they act in."""

    model_config = ConfigDict(frozen=True)

    officer_id: UUID
    role: Role


class DomainEvent(PersonalFields, BaseModel):
    """Base of every stored event: past tense, immutable, self-describing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The migrant's personal data in this event (domain/personal.py): these
    # fields are sealed under the data key named by `data_key_field`; the
    # event that first needs that key names its migrant in
    # `data_subject_field`. Destroying the migrant's keys erases them.
    personal: ClassVar[tuple[str, ...]] = ()
    data_key_field: ClassVar[str] = "originator_id"
    data_subject_field: ClassVar[str | None] = None

    # Bump on a change of shape and add `upcast_vN_vN+1(state) -> state`
    # static methods; the mapper upcasts old stored shapes on read.
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int = Field(ge=1)
    timestamp: UtcDatetime
    actor_id: UUID
    actor_role: Role
    occurred_at: UtcDatetime

    def mutate(self, aggregate: Aggregate | None) -> Aggregate:
        if aggregate is None:
            aggregate = self.new_aggregate()
        # A programmer error, not a user error: events are applied in order.
        assert aggregate.version + 1 == self.originator_version, (aggregate, self)
        self.apply(aggregate)
        aggregate.version = self.originator_version
        aggregate.modified_on = self.timestamp
        return aggregate

    def new_aggregate(self) -> Aggregate:
        raise TypeError(f"{type(self).__name__} cannot start an aggregate")

    def apply(self, aggregate: Any) -> None:
        """Change the aggregate's state. Events that only record need nothing."""


class Aggregate:
    """A consistency boundary: guards in methods, state changed only by events."""

    def __init__(self, id: UUID):
        self.id = id
        self.version = 0
        self.created_on = None
        self.modified_on = None
        self._pending: list[DomainEvent] = []

    def trigger(
        self,
        event_class: type[DomainEvent],
        actor: Actor,
        occurred_at: Any = None,
        **fields: Any,
    ) -> DomainEvent:
        recorded_at = recording_time.get() or utcnow()
        event = event_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=recorded_at,
            actor_id=actor.officer_id,
            actor_role=actor.role,
            occurred_at=occurred_at or recorded_at,
            **fields,
        )
        event.mutate(self)
        if self.created_on is None:
            self.created_on = event.timestamp
        self._pending.append(event)
        return event

    def collect_events(self) -> list[DomainEvent]:
        events, self._pending = self._pending, []
        return events

    @classmethod
    def start(cls, id: UUID, event_class: type[DomainEvent], actor: Actor, **fields: Any) -> Self:
        aggregate = cls(id)
        aggregate.trigger(event_class, actor, **fields)
        return aggregate

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} v{self.version}>"
