from __future__ import annotations

from typing import Self
from uuid import UUID

from pydantic import model_validator

from domain.commands import Command, PastDate, Reason, Text
from domain.coverage.vocabulary import AgreementKind
from domain.fields import Day, Reference
from domain.values import CountryCode


class RecordInsurance(Command):
    """Record the insurance policy covering the migrant under the current contract."""

    migrant_id: UUID
    insurer: Text
    policy_number: Reference
    valid_from: Day
    valid_until: Day

    @model_validator(mode="after")
    def check_validity(self) -> Self:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until: must be after valid_from")
        return self


class RecordSocialSecurityRegistration(Command):
    """Record the migrant's registration with the destination's social security."""

    migrant_id: UUID
    scheme: Text
    social_security_number: Reference
    registered_on: PastDate


class SetAgreement(Command):
    """Record (or replace) the BLA or SSA between the home country and `country`."""

    country: CountryCode
    kind: AgreementKind
    title: Text
    in_force_from: Day
    in_force_until: Day | None = None

    @model_validator(mode="after")
    def check_dates(self) -> Self:
        if self.in_force_until is not None and self.in_force_until <= self.in_force_from:
            raise ValueError("in_force_until: must be after in_force_from")
        return self


class RemoveAgreement(Command):
    """Remove an agreement from the table (entered by mistake, or lapsed), with the reason."""

    country: CountryCode
    kind: AgreementKind
    reason: Reason
