"""Commands on a migrant's case, one per lifecycle step."""

from __future__ import annotations

from typing import Annotated, Self
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from domain.cases.consent import LegalBasis
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
from domain.fields import Amount, Day, Pattern
from domain.values import CountryCode, County, Sex, age_on, utcnow

NationalId = Annotated[str, Pattern(r"[0-9]{7,9}", "a Kenyan national id is 7 to 9 digits", 9)]
PassportNumber = Annotated[
    str, Pattern(r"[A-Z0-9]{6,9}", "a passport number is 6 to 9 letters or digits", 9, case="upper")
]
Phone = Annotated[
    str,
    Pattern(r"\+[1-9][0-9]{7,14}", "write the phone in international form, e.g. +254712345678", 16),
]


class RegisterMigrant(Command):
    """Register a migrant before departure: identity, sex, birth date, county and education."""

    full_name: Text
    sex: Sex
    date_of_birth: Day
    national_id: NationalId | None = None
    passport_number: PassportNumber | None = None
    phone: Phone
    county: County
    education: Education
    skills: tuple[Text, ...] = Field(default=(), max_length=30)
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
    """Record the pre-departure orientation the migrant completed."""

    course: Text = "Pre-departure orientation"
    provider: Text
    certificate_number: Text
    completed_on: PastDate


class AssessSkills(CaseCommand):
    """Record a skills assessment (trade, level, assessor)."""

    trade: Text
    level: Text
    assessor: Text
    assessed_on: PastDate


class RegisterContract(CaseCommand):
    """Register the employment contract: destination, employer, sector, wage and period."""

    destination_country: CountryCode
    # A registered employer and agency (domain/employers); their names are
    # then taken from the registry. Free text only without a registry entry.
    employer_id: UUID | None = None
    agency_id: UUID | None = None
    employer_name: Text | None = None
    recruitment_agency: Text | None = None
    sector: Sector
    job_title: Text
    monthly_wage: Amount
    starts_on: Day
    ends_on: Day

    # Required when the employer or agency is watchlisted or the agency's
    # licence is not valid (NeedsJustification says why); recorded.
    justification: LongText | None = None

    @model_validator(mode="after")
    def check_period(self) -> Self:
        if self.employer_id is None and not self.employer_name:
            raise ValueError("employer_id: give the registered employer (or an employer_name)")
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        if self.monthly_wage.amount_minor == 0:
            raise ValueError("monthly_wage must be more than zero")
        return self


class StartMembership(CaseCommand):
    """Enrol the migrant in the welfare fund for a membership period."""

    membership_number: Text
    starts_on: Day
    ends_on: Day

    @model_validator(mode="after")
    def check_period(self) -> Self:
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        return self


class RecordDeparture(CaseCommand):
    """Record that the migrant left the country (date and port of exit)."""

    departed_on: PastDate
    port_of_exit: Text = "Jomo Kenyatta International Airport"


class RecordArrival(CaseCommand):
    """Record that the migrant arrived in the destination country."""

    arrived_on: PastDate


class ChangeEmployer(CaseCommand):
    """Record a change of employer abroad, with the reason."""

    employer_id: UUID | None = None
    employer_name: Text | None = None
    reason: Reason
    changed_on: PastDate
    justification: LongText | None = None

    @model_validator(mode="after")
    def check_employer(self) -> Self:
        if self.employer_id is None and not self.employer_name:
            raise ValueError("employer_id: give the registered employer (or an employer_name)")
        return self


class RenewContract(CaseCommand):
    """Renew the contract to a new end date (and wage, if it changed)."""

    ends_on: Day
    monthly_wage: Amount | None = None
    renewed_on: PastDate
    justification: LongText | None = None


class LinkContractParties(CaseCommand):
    """One-off, for contracts registered before the registries (free-text
    employer and agency): link the current contract to the registered
    employer and/or agency it names (docs/domain.md)."""

    employer_id: UUID | None = None
    agency_id: UUID | None = None

    @model_validator(mode="after")
    def check_something(self) -> Self:
        if self.employer_id is None and self.agency_id is None:
            raise ValueError("give an employer_id or an agency_id (or both)")
        return self


class TerminateContract(CaseCommand):
    """Record that the contract ended early, and why."""

    reason: ContractEndReason
    details: LongText = ""
    terminated_on: PastDate


class RecordWelfareCheck(CaseCommand):
    """Record a welfare check on a migrant abroad (visit, call, shelter)."""

    channel: WelfareCheckChannel
    status: WelfareStatus
    notes: LongText = ""
    checked_on: PastDate


class RecordOnSiteTraining(CaseCommand):
    """Record training the migrant took while abroad."""

    course: Text
    provider: Text
    completed_on: PastDate


class RecordReturn(CaseCommand):
    """Record the migrant's return home (assisted or not, and why)."""

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
    """Refer a returnee to a reintegration service (jobs, SACCO, training, credit, counselling)."""

    referral_id: UUID = Field(default_factory=uuid4)
    service: ReferralService
    partner: Text
    notes: LongText = ""
    referred_on: PastDate
    # Without the migrant's consent to share with the partner: why it may go
    # ahead anyway (domain/cases/consent.py).
    legal_basis: LegalBasis | None = None


class RecordReferralOutcome(CaseCommand):
    """Record what came of a reintegration referral."""

    referral_id: UUID
    outcome: ReferralOutcome
    notes: LongText = ""
    recorded_on: PastDate


class CloseCase(CaseCommand):
    """Close the case, with the reason."""

    reason: Reason
    closed_on: PastDate


class CorrectRegistration(CaseCommand):
    """Correct a mistake in the registration details. The old value stays in
    the history; the correction records what changed and why. Identity
    document numbers are not corrected here: they are bound to the person."""

    full_name: Text | None = None
    sex: Sex | None = None
    date_of_birth: Day | None = None
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
    """Assign the case to an officer."""

    officer_id: UUID


class RequestErasure(CaseCommand):
    """Ask for this person's personal data to be erased (a data-protection
    officer; a second, different one approves). The legal basis is recorded;
    write the law or the request's reference, not the person's details."""

    legal_basis: Reason


class ApproveErasure(CaseCommand):
    """Approve another data-protection officer's erasure request: the
    person's data keys are destroyed; this cannot be undone."""
