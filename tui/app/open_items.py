"""What a follow-up command may refer to: a case's open referrals, an
incident's open assistance requests - so the officer picks one instead of
typing its id.

The read models keep neither (the timeline has their summaries only), so
this reads the one case's (or incident's) own events from the store: a
short, bounded stream, read in a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any
from uuid import UUID

from domain.values import format_minor
from msafiri.zones import shown


@dataclass(frozen=True)
class Choice:
    value: UUID
    label: str


def _words(value: Any) -> str:
    return str(getattr(value, "value", value)).replace("_", " ")


def _day(event: Any, zone: tzinfo) -> str:
    """The day it happened where the officer is (msafiri/zones.py)."""
    return shown(getattr(event, "occurred_at", None) or event.timestamp, zone, "date")


def open_referrals(store: Any, migrant_id: UUID, zone: tzinfo = UTC) -> list[Choice]:
    """Referrals with no outcome yet, or an 'ongoing' one (the aggregate's rule)."""
    made: dict[UUID, str] = {}
    outcome: dict[UUID, str | None] = {}
    for event in store.events.get(migrant_id):
        kind = type(event).__name__
        if kind == "ReferralMade":
            made[event.referral_id] = (
                f"{_words(event.service)} · {event.partner} · referred {_day(event, zone)}"
            )
            outcome[event.referral_id] = None
        elif kind == "ReferralOutcomeRecorded":
            outcome[event.referral_id] = _words(event.outcome)
    return [
        Choice(rid, label + (" · ongoing" if outcome[rid] else ""))
        for rid, label in made.items()
        if outcome[rid] in (None, "ongoing")
    ]


def open_assistance_requests(store: Any, incident_id: UUID, zone: tzinfo = UTC) -> list[Choice]:
    """Assistance requests neither provided, paid nor declined."""
    asked: dict[UUID, str] = {}
    status: dict[UUID, str] = {}
    for event in store.events.get(incident_id):
        kind = type(event).__name__
        if kind == "AssistanceRequested":
            estimate = ""
            if event.estimate is not None and event.estimate.amount_minor:
                money = event.estimate
                estimate = f" · {format_minor(money.amount_minor, money.currency)} {money.currency}"
            payee = f" to {event.payee}" if event.payee else ""
            asked[event.request_id] = (
                f"{_words(event.kind)}{estimate}{payee} · requested {_day(event, zone)}"
            )
            status[event.request_id] = "requested"
        elif kind in ("AssistanceProvided", "AssistancePaid", "AssistanceDeclined"):
            status[event.request_id] = kind
    return [Choice(rid, label) for rid, label in asked.items() if status[rid] == "requested"]


# action key -> (the field to pick, what it is called, where the choices come from
# (store, the case or incident id, the officer's zone), which id of the form's target it needs)
PICKERS: dict[str, tuple[str, str, Callable[[Any, UUID, tzinfo], list[Choice]], str]] = {
    "case.referral_outcome": ("referral_id", "open referral", open_referrals, "migrant_id"),
    "incident.provided": (
        "request_id",
        "open assistance request",
        open_assistance_requests,
        "incident_id",
    ),
}
