"""The one list of secrets in the log: fields that never leave Msafiri.

Every way out reads this list: the auditor's JSON Lines export (`msafiri
audit export`, the TUI's case export), the TUI's event detail and
who-did-what screens (both built from `trail.trail_line`), `msafiri audit
as-of` (an officer's state), and the NATS payloads (integration/payloads.py
drops these fields). docs/audit.md names each field and why it is secret.

A new secret is one line here; nothing else has to remember it.
"""

from __future__ import annotations

from typing import Any

# Event type -> its secret fields.
SECRET_FIELDS: dict[str, frozenset[str]] = {
    # An argon2id hash of an officer's password: offline guessing material.
    "PasswordSet": frozenset({"password_hash"}),
    # The same, of a temporary password an administrator set (a reset).
    "PasswordReset": frozenset({"password_hash"}),
}

# Every secret field name: an aggregate's state carries them under the same
# names (Officer.password_hash), so a state shown as of a position is masked too.
SECRET_NAMES: frozenset[str] = frozenset().union(*SECRET_FIELDS.values())

WITHHELD = "<secret: withheld>"


def secrets_of(event_type: str) -> frozenset[str]:
    return SECRET_FIELDS.get(event_type, frozenset())


def mask(data: dict[str, Any], names: frozenset[str] = SECRET_NAMES) -> dict[str, Any]:
    """A copy of `data` with every secret field's value replaced by WITHHELD
    (the field stays, so a reader sees that something was recorded)."""
    return {
        key: (WITHHELD if key in names and value is not None else value)
        for key, value in data.items()
    }
