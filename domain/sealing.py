"""Authenticated encryption of stored events, bound to their row.

Every stored event's `state` is sealed with AES-256-GCM (the `cryptography`
package; nothing here is hand-made crypto):

    state = header || nonce (12) || ciphertext || tag (16)
    header = b"MSF" || format (1 byte, = 1) || key id (4 bytes)

and the associated data (authenticated, not stored) is

    header || originator id (16 bytes) || originator version (8, big-endian)
    || topic (UTF-8)

so a row written or changed without the key fails, and so does a genuine
ciphertext copied into another row (another aggregate, version or event
class). The key id is derived from the key (a truncated SHA-256 of it), so
a row names the key that opens it and a keyring of the current key plus
retired ones reads everything written since the first key (rotation).

The library's own `AESCipher` (`CIPHER_KEY`) sees only bytes: it can bind no
row, and has one key. That is why the mapper seals, and `CIPHER_KEY` /
`CIPHER_TOPIC` stay unset.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import MsafiriError

MAGIC = b"MSF"
FORMAT = 1
KEY_SIZE = 32  # AES-256
KEY_ID_SIZE = 4
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = len(MAGIC) + 1 + KEY_ID_SIZE
_PREFIX = MAGIC + bytes([FORMAT])
_PREFIX_SIZE = len(_PREFIX)
_MIN_SIZE = HEADER_SIZE + NONCE_SIZE + TAG_SIZE
_CIPHERTEXT_AT = HEADER_SIZE + NONCE_SIZE


class EventForged(MsafiriError, ValueError):
    """A stored event that does not authenticate: it was written or changed
    without the key, or copied from another row. A ValueError, so readers
    that report unreadable stored events (the audit's replay checks) name it
    too; a MsafiriError, so a command that meets one says so in one line."""

    def __init__(self, originator_id: object, version: int, topic: str, reason: str):
        self.originator_id = str(originator_id)
        self.version = version
        self.topic = topic
        self.reason = reason
        self.position: int | None = None  # the log position, when the reader knows it
        super().__init__(reason)

    def __str__(self) -> str:
        where = f" at position {self.position}" if self.position is not None else ""
        return (
            f"stored event {self.originator_id}/{self.version} "
            f"({self.topic.rpartition(':')[2]}){where} fails authentication: {self.reason}"
        )


class EncryptionOff(MsafiriError, ValueError):
    """A sealed event met a store whose encryption is switched off
    (MSAFIRI_ENCRYPTION=off, for benchmarks): it cannot be read."""


def key_id(key: bytes) -> bytes:
    """The 4-byte id a key is named by in every row it seals. One-way: it
    tells keys apart, it gives nothing of the key away."""
    return hashlib.sha256(b"msafiri master key id\x00" + key).digest()[:KEY_ID_SIZE]


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_SIZE * 8)


def is_sealed(state: bytes) -> bool:
    return state[: len(_PREFIX)] == _PREFIX


def stored_key_id(state: bytes) -> str | None:
    """The key id (hex) a stored state names, or None when it is not sealed."""
    if not is_sealed(state) or len(state) < HEADER_SIZE:
        return None
    return bytes(state[len(_PREFIX) : HEADER_SIZE]).hex()


def _row_bytes(originator_id: UUID | str, version: int, topic: str) -> bytes:
    uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    return uuid.bytes + version.to_bytes(8, "big", signed=True) + topic.encode()


class Keyring:
    """The current key (seals new events) and retired keys (still open the
    events they sealed). Keys live in memory only; repr shows ids, never keys."""

    def __init__(
        self,
        current: bytes,
        retired: Sequence[bytes] = (),
        reload: Callable[[], Sequence[bytes]] | None = None,
    ):
        for key in (current, *retired):
            if len(key) != KEY_SIZE:
                raise ValueError(f"a master key is {KEY_SIZE} bytes, not {len(key)}")
        self._current_id = key_id(current)
        self._current = AESGCM(current)
        self._keys = {key_id(key): AESGCM(key) for key in (*retired, current)}
        self._header = _PREFIX + self._current_id
        # After a rotation, processes started earlier meet events sealed
        # under the new key: `reload` reads the keys again (once per unknown
        # key id), so they keep reading; they seal with their key until
        # restarted, which every process can open.
        self._reload = reload
        self._reloaded_for: set[bytes] = set()

    def _aead_for(self, kid: bytes) -> AESGCM | None:
        aead = self._keys.get(kid)
        if aead is None and self._reload is not None and kid not in self._reloaded_for:
            self._reloaded_for.add(kid)
            for key in self._reload():
                self._keys.setdefault(key_id(key), AESGCM(key))
            aead = self._keys.get(kid)
        return aead

    @property
    def current_id(self) -> str:
        return self._current_id.hex()

    @property
    def key_ids(self) -> list[str]:
        return [k.hex() for k in self._keys]

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id}, keys={self.key_ids})"

    def seal(self, data: bytes, originator_id: UUID | str, version: int, topic: str) -> bytes:
        header = self._header
        nonce = os.urandom(NONCE_SIZE)
        aad = header + _row_bytes(originator_id, version, topic)
        return header + nonce + self._current.encrypt(nonce, data, aad)

    def _check(self, state: bytes, originator_id: object, version: int, topic: str) -> AESGCM:
        """The key for a state that is not plainly sealed under a known key:
        EventForged saying why, or the key after reloading the keyring."""
        if state[: len(_PREFIX)] != _PREFIX:
            raise EventForged(originator_id, version, topic, "it is not encrypted")
        if len(state) < HEADER_SIZE + NONCE_SIZE + TAG_SIZE:
            raise EventForged(originator_id, version, topic, "it is too short to be sealed")
        kid = state[len(_PREFIX) : HEADER_SIZE]
        aead = self._aead_for(kid)
        if aead is None:
            raise EventForged(
                originator_id,
                version,
                topic,
                f"it names key id {kid.hex()}, which the keyring "
                f"({', '.join(self.key_ids)}) does not hold",
            )
        return aead

    def open(self, state: bytes, originator_id: UUID | str, version: int, topic: str) -> bytes:
        """The plaintext of a sealed state; EventForged when it does not
        authenticate for this row under the key it names."""
        # On every event read (projections, chain, replay): the usual case
        # takes one dict lookup and one join before the decryption.
        if state.__class__ is not bytes:
            state = bytes(state)
        aead = self._keys.get(state[_PREFIX_SIZE:HEADER_SIZE])
        if aead is None or state[:_PREFIX_SIZE] != _PREFIX or len(state) < _MIN_SIZE:
            aead = self._check(state, originator_id, version, topic)
        uuid = originator_id if originator_id.__class__ is UUID else UUID(str(originator_id))
        aad = b"".join(
            (
                state[:HEADER_SIZE],
                uuid.bytes,
                version.to_bytes(8, "big", signed=True),
                topic.encode(),
            )
        )
        try:
            return aead.decrypt(state[HEADER_SIZE:_CIPHERTEXT_AT], state[_CIPHERTEXT_AT:], aad)
        except InvalidTag:
            raise EventForged(
                originator_id,
                version,
                topic,
                "its bytes, aggregate id, version or topic differ from what was sealed "
                "(written or changed without the key, or copied from another row)",
            ) from None
