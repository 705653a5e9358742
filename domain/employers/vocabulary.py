"""The words of the employer and agency registries."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class EmployerKind(StrEnum):
    # A private household (domestic and care work): its name is a private
    # person's, kept out of the NATS stream (docs/nats.md).
    HOUSEHOLD = "household"
    COMPANY = "company"


class LicenceStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class WatchlistStatus(StrEnum):
    NOT_LISTED = "not_listed"
    LISTING_PROPOSED = "listing_proposed"
    LISTED = "listed"
    DELISTING_PROPOSED = "delisting_proposed"


class PartyKind(StrEnum):
    """Which registry a record is in (messages, read models, CLI)."""

    EMPLOYER = "employer"
    AGENCY = "agency"


# Words that do not tell two names apart ("Al-Harbi household" is the
# "Al Harbi Household"; "Trading Co." is "Trading Company").
_NOISE = {"the", "ltd", "limited", "co", "company", "llc", "wll", "est", "establishment"}


def name_key(name: str) -> str:
    """A name's comparison key: accents, case, punctuation and legal-form
    words removed, words in order. Two names with the same key in the same
    country (and city) are the same record: registering the second is refused."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = [w for w in re.split(r"[^0-9a-z\u0600-\u06ff]+", text) if w and w not in _NOISE]
    return " ".join(words)
