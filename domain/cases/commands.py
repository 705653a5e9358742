"""Commands on a migrant's case, one per lifecycle step."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Self
from uuid import UUID, uuid4

from pydantic import AfterValidator, Field, model_validator

from domain.cases.vocabulary import (
    ContractEndReason,
    Education,
    ReferralOutcome,
    ReferralService,
    ReturnReason,
    Sector,
    WelfareCheckChannel,
    WelfareStatus,
)
from domain.commands import CaseCommand, Command, LongText, PastDate, Reason, Text
from domain.values import CountryCode, County, Money, Sex, age_on, utcnow


def _matching(pattern: str, rule: str, upper: bool = False):
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        value = value.strip().upper() if upper else value.strip()
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


NationalId = Annotated[str, _matching(r"\d{7,9}", "a Kenyan national id is 7 to 9 digits")]
PassportNumber = Annotated[
    str, _matching(r"[A-Z0-9]{6,9}", "a passport number is 6 to 9 letters or digits", upper=True)
]
Phone = Annotated[
    str,
    _matching(r"\+[1-9]\d{7,14}", "write the phone in international form, e.g. +254712345678"),
]


class RegisterMigrant(Command):
    full_name: Text
    sex: Sex
    date_of_birth: date
    national_id: NationalId | None = None
    passport_number: PassportNumber | None = None
    phone: Phone
    county: County
    education: Education
    skills: tuple[Text, ...] = ()
    registered_on: PastDate = Field(default_factory=lambda: utcnow().date())

    @model_validator(mode="after")
    def check_identity_and_age(self) -> Self:
        if not self.national_id and not self.passport_number:
            raise ValueError("give a national_id or a passport_number (or both)")
        age = age_on(self.date_of_birth, self.registered_on)
        if not 18 <= age <= 75:
            raise ValueError(f"date_of_birth: a migrant worker must be 18 to 75 (this is {age})")
        return self


class CompleteOrientation(CaseCommand):
    course: Text = "Pre-departure orientation"
    provider: Text
    certificate_number: Text
    completed_on: PastDate


class AssessSkills(CaseCommand):
    trade: Text
    level: Text
    assessor: Text
    assessed_on: PastDate


class RegisterContract(CaseCommand):
    destination_country: CountryCode
    employer_name: Text
    recruitment_agency: Text | None = None
    sector: Sector
    job_title: Text
    monthly_wage: Money
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def check_period(self) -> Self:
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        if self.monthly_wage.amount_minor == 0:
            raise ValueError("monthly_wage must be more than zero")
        return self


class StartMembership(CaseCommand):
    membership_number: Text
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def check_period(self) -> Self:
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        return self


class RecordDeparture(CaseCommand):
    departed_on: PastDate
    port_of_exit: Text = "Jomo Kenyatta International Airport"


class RecordArrival(CaseCommand):
    arrived_on: PastDate


class ChangeEmployer(CaseCommand):
    employer_name: Text
    reason: Reason
    changed_on: PastDate


class RenewContract(CaseCommand):
    ends_on: date
    monthly_wage: Money | None = None
    renewed_on: PastDate


class TerminateContract(CaseCommand):
    reason: ContractEndReason
    details: LongText = ""
    terminated_on: PastDate


class RecordWelfareCheck(CaseCommand):
    channel: WelfareCheckChannel
    status: WelfareStatus
    notes: LongText = ""
    checked_on: PastDate


class RecordOnSiteTraining(CaseCommand):
    course: Text
    provider: Text
    completed_on: PastDate


class RecordReturn(CaseCommand):
    returned_on: PastDate
    assisted: bool
    reason: ReturnReason
    details: LongText = ""


class CertifySkills(CaseCommand):
    """Recognition of Prior Learning: skills gained abroad, certified at home."""

    trade: Text
    level: Text
    certifying_body: Text = "National Industrial Training Authority"
    certificate_number: Text
    certified_on: PastDate


class MakeReferral(CaseCommand):
    referral_id: UUID = Field(default_factory=uuid4)
    service: ReferralService
    partner: Text
    notes: LongText = ""
    referred_on: PastDate


class RecordReferralOutcome(CaseCommand):
    referral_id: UUID
    outcome: ReferralOutcome
    notes: LongText = ""
    recorded_on: PastDate


class CloseCase(CaseCommand):
    reason: Reason
    closed_on: PastDate


class CorrectRegistration(CaseCommand):
    """Correct a mistake in the registration details. The old value stays in
    the history; the correction records what changed and why. Identity
    document numbers are not corrected here: they are bound to the person."""

    full_name: Text | None = None
    sex: Sex | None = None
    date_of_birth: date | None = None
    phone: Phone | None = None
    county: County | None = None
    education: Education | None = None
    reason: Reason

    @model_validator(mode="after")
    def check_something(self) -> Self:
        if not self.corrections():
            raise ValueError("give at least one field to correct")
        return self

    def corrections(self) -> dict[str, object]:
        fields = ("full_name", "sex", "date_of_birth", "phone", "county", "education")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


class StartNewCycle(CaseCommand):
    """Re-migration: the same person starts another migration cycle."""

    reason: Reason = "re-migration"
    started_on: PastDate


class AssignCaseOfficer(CaseCommand):
    officer_id: UUID
