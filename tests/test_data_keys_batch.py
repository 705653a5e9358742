"""A batch's data keys made in one go (`SqlDataKeys.prepare`, used by the
registry import): the same keys `for_writing` would give, one at a time."""

from __future__ import annotations

import os
from uuid import uuid4

from msafiri.bootstrap import data_keys


def fresh(system):
    """Another process's key store over the same database (nothing cached)."""
    return data_keys(system.settings, system.database, system.store.mapper.keyring)


def same_key(one, other) -> bool:
    nonce = os.urandom(12)
    return other.decrypt(nonce, one.encrypt(nonce, b"secret", b"aad"), b"aad") == b"secret"


def test_prepare_reads_existing_keys_makes_missing_ones_and_leaves_the_rest(system):
    keys = system.store.mapper.data_keys
    existing, made, orphan, erased = (str(uuid4()) for _ in range(4))
    subject, erased_subject = str(uuid4()), str(uuid4())
    before = keys.for_writing(existing, subject)
    keys.destroy(erased_subject)  # an erased person: never a stored key again

    other = fresh(system)
    try:
        other.prepare({existing: subject, made: subject, orphan: None, erased: erased_subject})
        # The stored key is used, not replaced; the new one is stored.
        assert same_key(before, other.for_writing(existing, subject))
        assert same_key(other.for_writing(made, subject), fresh(system).for_reading(made))
        # Without its migrant no key is made; an erased person gets none stored.
        assert other.for_reading(orphan) is None
        assert fresh(system).for_reading(erased) is None
        assert sorted(keys.refs_of(subject)) == sorted([existing, made])
        # Again: everything is cached or stored, nothing changes.
        other.prepare({existing: subject, made: subject})
        assert sorted(keys.refs_of(subject)) == sorted([existing, made])
    finally:
        other.close()
