"""A migrant's personal data inside events, sealed under that migrant's own
data key, so destroying the key erases the data (crypto-shredding) while the
event log stays as it was written.

An event class names its personal fields (`personal`), the key they are
sealed under (`data_key_field`: the aggregate's own id unless another field
names it) and, for the event that first needs that key, the migrant it
belongs to (`data_subject_field`). In the stored JSON the personal fields are
replaced by one entry,

    "_p": {"k": key ref, "f": [field names], "c": base64(nonce || ciphertext || tag),
           "e": {what statistics keep when the key is gone, e.g. the age band}}

sealed with AES-256-GCM (`cryptography`; nothing hand-made), the associated
data binding it to its event (aggregate id and version). The outer seal of
the whole state (domain/sealing.py, the master key) is applied after this.

Reading: with the key, the fields come back as written. Without it (the
person was erased) each personal field reads ERASED and the event still
validates and replays. Events written before per-migrant keys carry their
fields in plain JSON (under the master key only); they are read as they are.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Literal, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import MsafiriError

# What an erased field reads as, everywhere: replay, screens, exports.
ERASED = "erased"
Erased = Literal["erased"]
SEALED_KEY = "_p"
# Non-identifying values kept beside an erased field (the age band for a
# date of birth); read models use them, the event model never sees them.
KEPT_KEY = "_erased"
NONCE_SIZE = 12


class PersonalDataErased(MsafiriError):
    """A write about a person whose data was erased: nothing new may be
    recorded about them (their key is gone)."""


class DataKeys(Protocol):
    """Where per-migrant data keys live (msafiri/data_keys.py)."""

    def for_reading(self, key_ref: str) -> AESGCM | None: ...

    def for_writing(self, key_ref: str, subject: str | None) -> AESGCM | None: ...


def _aad(state: dict[str, Any]) -> bytes:
    return f"{state['originator_id']}/{state['originator_version']}".encode()


def seal_personal(cls: Any, state: dict[str, Any], keys: DataKeys) -> dict[str, Any]:
    """`state` (the event's JSON) with its personal fields sealed under the
    data key they belong to; unchanged for events without personal data or
    without a key to seal under (see `DataKeys.for_writing`)."""
    if not getattr(cls, "personal", ()):
        return state
    key_ref = state.get(cls.data_key_field)
    if key_ref is None:
        return state
    names = cls.personal_names(state)
    if not names:
        return state
    subject_field = cls.data_subject_field
    subject = state.get(subject_field) if subject_field else None
    aead = keys.for_writing(str(key_ref), None if subject is None else str(subject))
    if aead is None:
        return state
    kept = cls.kept_when_erased(state)
    secret = cls.split_personal(state, names)
    nonce = os.urandom(NONCE_SIZE)
    sealed = nonce + aead.encrypt(nonce, orjson.dumps(secret), _aad(state))
    entry: dict[str, Any] = {"k": str(key_ref), "f": names, "c": base64.b64encode(sealed).decode()}
    if kept:
        entry["e"] = kept
    state[SEALED_KEY] = entry
    return state


def open_personal(
    cls: Any, state: dict[str, Any], keys: DataKeys | None, keep: bool = False
) -> dict[str, Any]:
    """`state` with its personal fields back, or ERASED where the key is
    gone; with `keep`, the kept values under KEPT_KEY for read models."""
    entry = state.pop(SEALED_KEY, None)
    if entry is None:
        return state
    aead = keys.for_reading(entry["k"]) if keys is not None else None
    if aead is not None:
        sealed = base64.b64decode(entry["c"])
        try:
            secret = orjson.loads(
                aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _aad(state))
            )
        except InvalidTag:
            # The outer seal authenticated this state, so only a wrong key
            # lands here (a key table restored from another database): it
            # reads as erased rather than stopping every reader.
            secret = None
        if secret is not None:
            cls.join_personal(state, secret)
            return state
    cls.erase_personal(state, entry["f"])
    if keep and "e" in entry:
        state[KEPT_KEY] = entry["e"]
    return state


class PersonalFields:
    """Defaults for DomainEvent (domain/model.py): top-level fields named in
    `personal` are sealed whole; an event class with personal data inside a
    field (RegistrationCorrected) overrides the three hooks."""

    @classmethod
    def personal_names(cls, state: dict[str, Any]) -> list[str]:
        return [name for name in cls.personal if state.get(name) is not None]  # type: ignore[attr-defined]

    @classmethod
    def split_personal(cls, state: dict[str, Any], names: list[str]) -> dict[str, Any]:
        return {name: state.pop(name) for name in names}

    @classmethod
    def join_personal(cls, state: dict[str, Any], secret: dict[str, Any]) -> None:
        state.update(secret)

    @classmethod
    def erase_personal(cls, state: dict[str, Any], names: list[str]) -> None:
        for name in names:
            state[name] = ERASED

    @classmethod
    def kept_when_erased(cls, state: dict[str, Any]) -> dict[str, Any]:
        return {}
