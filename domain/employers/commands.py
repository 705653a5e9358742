"""Commands on the employer and agency registries."""

from __future__ import annotations

from typing import Self
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from domain.cases.vocabulary import Sector
from domain.commands import Command, Reason, Text
from domain.employers.vocabulary import EmployerKind
from domain.fields import Day
from domain.values import CountryCode


class RegisterEmployer(Command):
    """Register an employer abroad: a household or a company, where it is, its sector."""

    employer_id: UUID = Field(default_factory=uuid4)
    name: Text
    kind: EmployerKind
    country: CountryCode
    city: Text
    sector: Sector
    registration_number: Text | None = None


class RegisterAgency(Command):
    """Register a licensed private recruitment agency and its licence."""

    agency_id: UUID = Field(default_factory=uuid4)
    name: Text
    licence_number: Text
    licensing_country: CountryCode = "KE"
    licence_valid_from: Day
    licence_valid_until: Day

    @model_validator(mode="after")
    def check_period(self) -> Self:
        if self.licence_valid_until <= self.licence_valid_from:
            raise ValueError("licence_valid_until must be after licence_valid_from")
        return self


class PartyCommand(Command):
    """A command on an existing employer or agency (`party_id`)."""

    party_id: UUID


class RenewAgencyLicence(PartyCommand):
    """Record the agency's renewed licence: its new end date."""

    valid_until: Day


class RevokeAgencyLicence(PartyCommand):
    """Record that the licensing authority revoked (or suspended) the agency's licence."""

    reason: Reason
    suspended: bool = False
    revoked_on: Day


class ReinstateAgencyLicence(PartyCommand):
    """Record that a suspended licence was reinstated."""

    reason: Reason


class MergeDuplicate(PartyCommand):
    """Merge a duplicate (`party_id`) into the record that stays (`into_id`).
    Both ids keep resolving; contracts and incidents of both count for the survivor."""

    into_id: UUID
    reason: Reason


class ProposeListing(PartyCommand):
    """Propose putting an employer or agency on the watchlist (maker):
    the reason and the incidents behind it."""

    reason: Reason
    incident_ids: tuple[UUID, ...] = Field(default=(), max_length=50)


class ProposeDelisting(PartyCommand):
    """Propose taking an employer or agency off the watchlist (maker)."""

    reason: Reason


class ApproveWatchlistChange(PartyCommand):
    """Approve the pending listing or delisting (checker: not the proposer)."""

    note: Text = "approved"


class RejectWatchlistChange(PartyCommand):
    """Reject the pending listing or delisting (checker: not the proposer)."""

    reason: Reason
