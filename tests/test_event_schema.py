"""Stored events are validated when read back, and old shapes are upcast."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from domain.model import DomainEvent
from domain.values import utcnow


class WelfareCallLogged(DomainEvent):
    """A test-only event whose shape changed: v1 stored `minutes` as text
    under `duration`; v2 stores an int `minutes`."""

    class_version = 2
    minutes: int

    @staticmethod
    def upcast_v1_v2(state: dict) -> dict:
        state["minutes"] = int(state.pop("duration").removesuffix(" min"))
        return state


def _stored(system, state: dict) -> StoredEvent:
    # As the store would have written it: sealed with its key.
    return system.store.mapper.seal(
        StoredEvent(
            originator_id=uuid4(),
            originator_version=1,
            topic=f"{__name__}:WelfareCallLogged",
            state=orjson.dumps(state),
        )
    )


def _v1_state() -> dict:
    now = utcnow().isoformat()
    return {
        "originator_id": str(uuid4()),
        "originator_version": 1,
        "timestamp": now,
        "actor_id": str(uuid4()),
        "actor_role": "labour_attache",
        "occurred_at": now,
        "duration": "12 min",
    }


def test_an_old_event_shape_is_upcast_when_read(system):
    event = system.store.mapper.to_domain_event(_stored(system, _v1_state()))
    assert isinstance(event, WelfareCallLogged)
    assert event.minutes == 12
    # Written again, it is stored in the new shape with its version.
    stored = system.store.mapper.to_stored_event(event)
    assert orjson.loads(system.store.mapper.open(stored))["_v"] == 2


def test_a_corrupt_stored_event_is_refused_on_read(system):
    state = _v1_state() | {"_v": 2, "minutes": "twelve"}
    state.pop("duration")
    with pytest.raises(ValidationError, match="minutes"):
        system.store.mapper.to_domain_event(_stored(system, state))


def test_a_payment_posted_before_v2_reads_with_its_reference_and_no_disbursement(system):
    """ReservationPosted v1 (before the reference was sealed per person) did
    not name its disbursement: it reads back as written, disbursement None."""
    from ledger.events import ReservationPosted

    state = _v1_state() | {
        "pending_id": str(uuid4()),
        "transfer_id": str(uuid4()),
        "amount_minor": 2_000_000,
        "reference": "MPESA-QK7H2M9XPL",
    }
    state.pop("duration")
    stored = system.store.mapper.seal(
        StoredEvent(
            originator_id=uuid4(),
            originator_version=1,
            topic="ledger.events:ReservationPosted",
            state=orjson.dumps(state),
        )
    )
    event = system.store.mapper.to_domain_event(stored)
    assert isinstance(event, ReservationPosted)
    assert event.reference == "MPESA-QK7H2M9XPL"
    assert event.disbursement_id is None
