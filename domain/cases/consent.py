"""A migrant's consents: what they agreed to, recorded on their case, and
their withdrawal. Consent is per scope (and, for referrals, per named
provider); the guards that use it live in the Migrant aggregate.

Kenya's Data Protection Act 2019 (s. 30) lets personal data be shared
without consent only on another lawful basis; the ones a referral may rely
on are the `LegalBasis` members below (docs/privacy.md, "Consent").
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Self

from pydantic import model_validator

from domain.commands import CaseCommand, PastDate, Text
from domain.model import DomainEvent

if TYPE_CHECKING:
    from domain.cases.aggregate import Migrant


class ConsentScope(StrEnum):
    # Sharing the case with the named service provider a referral goes to.
    REFERRAL_SHARING = "referral_sharing"
    # Sharing the person's (pseudonymised) events with partner agencies
    # through the NATS stream. Given by default (the stream carries no
    # names, phones or free text); a withdrawal stops it.
    PARTNER_SHARING = "partner_sharing"
    # Being contacted by phone or SMS (welfare calls, reminders).
    PHONE_CONTACT = "phone_contact"


class LegalBasis(StrEnum):
    """Why a referral may go without the migrant's consent (DPA 2019 s. 30)."""

    # To protect the life or health of the migrant or another person, when
    # they cannot be asked (unconscious, detained, missing, in danger).
    VITAL_INTERESTS = "vital_interests"
    # A law or court order requires it (e.g. reporting trafficking to police).
    LEGAL_OBLIGATION = "legal_obligation"
    # A task the ministry carries out in the public interest under its
    # mandate (e.g. the host labour ministry for a contract dispute).
    PUBLIC_TASK = "public_task"


def provider_key(provider: str | None) -> str:
    """Providers are matched by name, ignoring case and repeated spaces."""
    return " ".join((provider or "").split()).casefold()


class RecordConsent(CaseCommand):
    """Record a consent the migrant gave: its scope, to whom (for a referral:
    the named service provider) and when."""

    scope: ConsentScope
    provider: Text | None = None
    given_on: PastDate

    @model_validator(mode="after")
    def check_provider(self) -> Self:
        if self.scope is ConsentScope.REFERRAL_SHARING and not self.provider:
            raise ValueError("provider: consent to share on referral names the service provider")
        if self.scope is not ConsentScope.REFERRAL_SHARING and self.provider:
            raise ValueError("provider: only consent to share on referral names a provider")
        return self


class WithdrawConsent(CaseCommand):
    """Record that the migrant withdrew a consent (from that day on)."""

    scope: ConsentScope
    provider: Text | None = None
    withdrawn_on: PastDate

    @model_validator(mode="after")
    def check_provider(self) -> Self:
        if self.scope is ConsentScope.REFERRAL_SHARING and not self.provider:
            raise ValueError("provider: name the service provider the consent was given to")
        if self.scope is not ConsentScope.REFERRAL_SHARING and self.provider:
            raise ValueError("provider: only consent to share on referral names a provider")
        return self


class ConsentRecorded(DomainEvent):
    """The migrant consented (officer and role: who recorded it; occurred_at:
    the day it was given)."""

    scope: ConsentScope
    provider: str | None

    def apply(self, migrant: Migrant) -> None:
        migrant.consents[(self.scope, provider_key(self.provider))] = True


class ConsentWithdrawn(DomainEvent):
    """The migrant withdrew a consent (occurred_at: the day they did)."""

    scope: ConsentScope
    provider: str | None

    def apply(self, migrant: Migrant) -> None:
        migrant.consents[(self.scope, provider_key(self.provider))] = False


CONSENT_EVENTS = (ConsentRecorded, ConsentWithdrawn)
