"""What a subscriber receives: a versioned JSON envelope around each event,
with personal data left out or pseudonymised.

The envelope (`EventEnvelope`, schema version 1) carries the event's
identity, position and actor; `data` holds the event's own fields after the
redaction policy below. Both are pydantic models, and their JSON Schemas are
generated into docs/schemas/ (`python -m integration.schemas`).

Redaction is decided per field, once per event class, from the field's name
and type (nested models included), so a new event gets the same treatment
without anyone remembering to add it here:

- DROPPED: names, phone numbers, dates of birth, usernames, every secret
  field (projections/audit/secret_fields.py: password hashes), payees and
  every free-text field an officer typed (descriptions, notes, details,
  justifications, memos, messages). Free text can hold anything.
- FREE_TEXT_IF_PLAIN: `reason`/`outcome` are dropped when they are plain
  text, kept when they are a closed vocabulary (an enum, e.g. why a contract
  ended).
- PSEUDONYMISED: identity document and membership numbers become
  `<name>_ref`, a keyed hash (HMAC-SHA256 with a per-installation key kept in
  the database): stable, so a partner can link two events of the same
  person, but not reversible by hashing every possible ID number.

The hot path works on the stored JSON (dicts), not on pydantic objects: the
public models exist for the schema and for tests that validate every payload.
"""

from __future__ import annotations

import hashlib
import hmac
import types
import typing
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, Literal, Union
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from domain.model import DomainEvent
from projections.audit.secret_fields import SECRET_NAMES
from projections.catalogue import CONTEXTS, event_classes

SCHEMA_ID = "msafiri.event.v1"

DROPPED = (
    frozenset(
        {
            "full_name",
            "date_of_birth",
            "phone",
            "username",
            "password_hash",
            "payee",
            "assessor",
            "description",
            "notes",
            "note",
            "details",
            "justification",
            "memo",
            "message",
            "result",
            # Issue 16: a household employer is a private person; a contract's
            # free-text employer may be one. Ids are published instead; company
            # and agency names go out (company_name, agency_name).
            "household_name",
            "employer_name",
            "previous_employer",
            "warnings",
            "reason_above_claimed",  # issue 16: typed on a claim
        }
    )
    | SECRET_NAMES
)  # the secrets' one list (projections/audit/secret_fields.py)
FREE_TEXT_IF_PLAIN = frozenset({"reason", "outcome"})
PSEUDONYMISED = frozenset(
    {"national_id", "passport_number", "membership_number", "certificate_number"}
    # Issue 16: a migrant's insurance policy and social-security numbers.
    | {"policy_number", "social_security_number"}
)

# Internal bookkeeping that is never published. An identity-document claim's
# aggregate id is an unkeyed hash of the document number (domain/ids.py), and
# national ID numbers are few enough to hash them all: publishing that id
# would publish the number.
UNPUBLISHED = frozenset({"IdentityDocumentClaimed", "RegistryKeyClaimed"})

# Carried by the envelope, not repeated in `data`.
ENVELOPE_FIELDS = frozenset(DomainEvent.model_fields)

# Module prefix -> the context named in subjects: msafiri.<context>.<EventType>
# The contexts and the event catalogue live in projections.catalogue.


class EventEnvelope(BaseModel):
    """One published event (the message payload)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Msafiri event envelope v1")

    schema_: Literal["msafiri.event.v1"] = Field(alias="schema")
    id: str = Field(description="'<aggregate_id>:<aggregate_version>', also the Nats-Msg-Id")
    position: int = Field(ge=1, description="Position in Msafiri's log (total order)")
    context: str = Field(description="cases, incidents, officers or fund")
    type: str = Field(description="Event type, e.g. IncidentReported")
    type_version: int = Field(ge=1, description="Version of this event type's shape")
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    actor_id: UUID = Field(description="The officer (or the system) who caused it")
    actor_role: str
    recorded_at: datetime = Field(description="When Msafiri recorded it (UTC)")
    occurred_at: datetime = Field(description="When it happened in the world (UTC)")
    data: dict[str, Any] = Field(
        description="The event's own fields after redaction; see the schema for its type"
    )


# --- redaction plan ----------------------------------------------------------

DROP = "drop"
PSEUDO = "pseudonymise"
Plan = dict[str, Any]  # field -> DROP | PSEUDO | Plan (a nested model's plan)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _is_plain_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return all(a is str or a is type(None) for a in args) and str in args
    return False


@cache
def plan_for(model: type[BaseModel]) -> Plan:
    plan: Plan = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if name in DROPPED or (name in FREE_TEXT_IF_PLAIN and _is_plain_text(annotation)):
            plan[name] = DROP
        elif name in PSEUDONYMISED:
            plan[name] = PSEUDO
        else:
            nested = [plan_for(m) for m in _models_in(annotation)]
            merged = {k: v for sub in nested for k, v in sub.items()}
            if merged:
                plan[name] = merged
    return plan


Hasher = Callable[[str, str], str]


def keyed_hasher(key: bytes) -> Hasher:
    def pseudonym(field: str, value: str) -> str:
        digest = hmac.new(key, f"{field}\x00{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    return pseudonym


def redact(data: Any, plan: Plan, pseudonym: Hasher) -> Any:
    """Apply a plan to JSON data in place (dicts, and lists of dicts)."""
    if isinstance(data, list):
        for item in data:
            redact(item, plan, pseudonym)
        return data
    if not isinstance(data, dict):
        return data
    for name, action in plan.items():
        if name not in data:
            continue
        if action == DROP:
            del data[name]
        elif action == PSEUDO:
            value = data.pop(name)
            data[f"{name}_ref"] = None if value is None else pseudonym(name, str(value))
        else:
            redact(data[name], action, pseudonym)
    return data


# --- contexts and subjects ------------------------------------------------------


@cache
def context_of(event_class: type) -> str:
    module = event_class.__module__
    for prefix, context in CONTEXTS:
        if module.startswith(prefix):
            return context
    # A context added later (e.g. audit.events) is named after its package.
    parts = module.split(".")
    return parts[-2] if len(parts) > 1 and parts[0] == "domain" else parts[0]


def all_event_classes() -> list[type[DomainEvent]]:
    """Every published event class (the schema files list these)."""
    found = [cls for cls in event_classes() if cls.__name__ not in UNPUBLISHED]
    return sorted(found, key=lambda c: (context_of(c), c.__name__))


# --- public models (for the schema and for validating payloads in tests) ------


def _public_annotation(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return public_model(annotation) if plan_for(annotation) else annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if not args or origin is None:
        return annotation
    mapped = tuple(_public_annotation(a) for a in args)
    if mapped == args:
        return annotation
    if origin in (Union, types.UnionType):
        return Union[mapped]  # noqa: UP007 - built from a tuple
    return origin[mapped]


@cache
def public_model(model: type[BaseModel]) -> type[BaseModel]:
    """The model of `model`'s published data: same fields, redacted."""
    plan = plan_for(model)
    is_event = issubclass(model, DomainEvent)
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if is_event and name in ENVELOPE_FIELDS:
            continue
        action = plan.get(name)
        if action == DROP:
            continue
        if action == PSEUDO:
            fields[f"{name}_ref"] = (
                str | None,
                Field(description=f"Keyed hash of the {name.replace('_', ' ')}"),
            )
            continue
        kept = FieldInfo.merge_field_infos(info)
        fields[name] = (_public_annotation(info.annotation), kept)
    doc = (model.__doc__ or "").strip() if model.__doc__ != BaseModel.__doc__ else ""
    return create_model(
        model.__name__,
        __config__=ConfigDict(frozen=True, extra="forbid", title=model.__name__),
        __doc__=doc or None,
        **fields,
    )


# --- building a message --------------------------------------------------------


class Message(typing.NamedTuple):
    position: int
    msg_id: str
    subject: str
    payload: bytes
    headers: dict[str, str]


def build_message(
    prefix: str,
    position: int,
    event_class: type[DomainEvent],
    state: dict[str, Any],
    pseudonym: Hasher,
) -> Message:
    """Envelope + headers for one stored event, from its (upcast) JSON state."""
    aggregate_id = str(state.pop("originator_id"))
    version = state.pop("originator_version")
    recorded_at = state.pop("timestamp")
    actor_id = str(state.pop("actor_id"))
    actor_role = state.pop("actor_role")
    occurred_at = state.pop("occurred_at")
    if isinstance(actor_role, Enum):
        actor_role = actor_role.value
    context = context_of(event_class)
    event_type = event_class.__name__
    msg_id = f"{aggregate_id}:{version}"
    envelope = {
        "schema": SCHEMA_ID,
        "id": msg_id,
        "position": position,
        "context": context,
        "type": event_type,
        "type_version": event_class.class_version,
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "recorded_at": recorded_at,
        "occurred_at": occurred_at,
        "data": redact(state, plan_for(event_class), pseudonym),
    }
    headers = {
        "Nats-Msg-Id": msg_id,
        "Msafiri-Position": str(position),
        "Msafiri-Aggregate-Id": aggregate_id,
        "Msafiri-Aggregate-Version": str(version),
        "Msafiri-Event-Type": event_type,
        "Msafiri-Actor-Id": actor_id,
        "Msafiri-Actor-Role": str(actor_role),
        "Msafiri-Recorded-At": str(recorded_at),
        "Msafiri-Schema": SCHEMA_ID,
    }
    return Message(
        position=position,
        msg_id=msg_id,
        subject=f"{prefix}.{context}.{event_type}",
        payload=orjson.dumps(envelope),
        headers=headers,
    )
