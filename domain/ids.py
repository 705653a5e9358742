"""Deterministic identities.

Uniqueness (one officer per username, one case per national id or passport)
comes from deterministic ids: creating a second aggregate with the same id is a
version conflict the store refuses atomically - no read-model lookup, no race.
"""

from __future__ import annotations

import base64
from uuid import UUID, uuid5

MSAFIRI_NAMESPACE = UUID("6d736166-6972-4900-8000-6d7366726931")

# Acts for processes that react to events (the fund's assistance-request
# process); never an officer who can sign in.
SYSTEM_ACTOR_ID = uuid5(MSAFIRI_NAMESPACE, "actor:system")
INSTALLATION_ID = uuid5(MSAFIRI_NAMESPACE, "installation")


def officer_id(username: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"officer:{username.strip().lower()}")


def identity_document_id(kind: str, number: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"identity:{kind}:{number.strip().upper()}")


def case_number(migrant_id: UUID) -> str:
    """A short, speakable case number: 50 bits of the id in base32, e.g. MS-K3F2Q-7XWPA."""
    text = base64.b32encode(migrant_id.bytes[:7]).decode()[:10]
    return f"MS-{text[:5]}-{text[5:]}"
