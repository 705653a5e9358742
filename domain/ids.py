"""Deterministic identities.

Uniqueness (one officer per username, one case per national id or passport)
comes from deterministic ids: creating a second aggregate with the same id is a
version conflict the store refuses atomically - no read-model lookup, no race.
"""

from __future__ import annotations

from hashlib import sha1
from uuid import UUID, uuid5

MSAFIRI_NAMESPACE = UUID("6d736166-6972-4900-8000-6d7366726931")

_NAMESPACE_BYTES = MSAFIRI_NAMESPACE.bytes
# RFC 4122 version 5: the version nibble (5) and the variant bits (10).
_V5_MASK = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V5_BITS = (5 << 76) | (0x8000 << 48)


def name_id(name: str) -> UUID:
    """`uuid5(MSAFIRI_NAMESPACE, name)`, the same id: the standard library's
    sets the version bits through UUID(bytes=, version=), ~3x the cost of
    setting them on the integer here (an import derives ~2 ids a line).
    tests/test_import_fast_paths.py checks both agree."""
    digest = sha1(_NAMESPACE_BYTES + name.encode()).digest()
    return UUID(int=(int.from_bytes(digest[:16], "big") & _V5_MASK) | _V5_BITS)


# Acts for processes that react to events (the fund's assistance-request
# process); never an officer who can sign in.
SYSTEM_ACTOR_ID = uuid5(MSAFIRI_NAMESPACE, "actor:system")
INSTALLATION_ID = uuid5(MSAFIRI_NAMESPACE, "installation")


def officer_id(username: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"officer:{username.strip().lower()}")


def identity_document_id(kind: str, number: str) -> UUID:
    return name_id(f"identity:{kind}:{number.strip().upper()}")


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32, as base64.b32encode
# Every 10-bit group as its two base32 characters.
_B32_PAIRS = [a + b for a in _B32 for b in _B32]


def case_number(migrant_id: UUID) -> str:
    """A short, speakable case number: 50 bits of the id in base32, e.g. MS-K3F2Q-7XWPA.

    The first ten characters of `base64.b32encode(migrant_id.bytes[:7])`,
    computed from the id's top 50 bits directly: the standard library's
    encoder is pure Python and cost ~3 us a case, twice per registration
    (an import's hot path). tests/test_import_fast_paths.py checks both agree."""
    bits = migrant_id.int >> 78  # the top 50 of the 128 bits
    pairs = _B32_PAIRS
    first = pairs[bits >> 40] + pairs[(bits >> 30) & 1023] + pairs[(bits >> 20) & 1023]
    return f"MS-{first[:5]}-{first[5:]}{pairs[(bits >> 10) & 1023]}{pairs[bits & 1023]}"
