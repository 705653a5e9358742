"""What happens in a migrant's case, in the past tense. Each event applies
itself to the Migrant aggregate; the guards live in `aggregate.py`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.cases.vocabulary import (
    ContractEndReason,
    Education,
    ReferralOutcome,
    ReferralService,
    ReturnReason,
    Sector,
    Stage,
    WelfareCheckChannel,
    WelfareStatus,
)
from domain.model import DomainEvent
from domain.values import CountryCode, Money, Sex

if TYPE_CHECKING:
    from domain.cases.aggregate import Migrant


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True)

    destination_country: CountryCode
    employer_name: str
    recruitment_agency: str | None = None
    sector: Sector
    job_title: str
    monthly_wage: Money
    starts_on: date
    ends_on: date


class MigrantRegistered(DomainEvent):
    case_number: str
    full_name: str
    sex: Sex
    date_of_birth: date
    national_id: str | None
    passport_number: str | None
    phone: str
    county: str
    education: Education
    skills: tuple[str, ...]

    def new_aggregate(self) -> Any:
        from domain.cases.aggregate import Migrant

        return Migrant(self.originator_id)

    def apply(self, migrant: Migrant) -> None:
        for name in (
            "case_number",
            "full_name",
            "sex",
            "date_of_birth",
            "national_id",
            "passport_number",
            "phone",
            "county",
            "education",
        ):
            setattr(migrant, name, getattr(self, name))
        migrant.skills = list(self.skills)
        migrant.stage = Stage.PRE_DEPARTURE
        migrant.cycle = 1
        migrant.assigned_officer_id = self.actor_id


class OrientationCompleted(DomainEvent):
    course: str
    provider: str
    certificate_number: str

    def apply(self, migrant: Migrant) -> None:
        migrant.oriented_in_cycle = migrant.cycle


class SkillsAssessed(DomainEvent):
    trade: str
    level: str
    assessor: str

    def apply(self, migrant: Migrant) -> None:
        if self.trade not in migrant.skills:
            migrant.skills.append(self.trade)


class ContractRegistered(DomainEvent):
    contract: Contract

    def apply(self, migrant: Migrant) -> None:
        migrant.contract = self.contract
        migrant.contract_ended = None


class MembershipStarted(DomainEvent):
    membership_number: str
    starts_on: date
    ends_on: date

    def apply(self, migrant: Migrant) -> None:
        migrant.memberships.append((self.membership_number, self.starts_on, self.ends_on))


class Departed(DomainEvent):
    port_of_exit: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.DEPARTED
        migrant.departed_at = self.occurred_at


class Arrived(DomainEvent):
    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.ON_SITE
        migrant.arrived_at = self.occurred_at


class EmployerChanged(DomainEvent):
    previous_employer: str
    employer_name: str
    reason: str

    def apply(self, migrant: Migrant) -> None:
        assert migrant.contract is not None
        migrant.contract = migrant.contract.model_copy(update={"employer_name": self.employer_name})


class ContractRenewed(DomainEvent):
    ends_on: date
    monthly_wage: Money

    def apply(self, migrant: Migrant) -> None:
        assert migrant.contract is not None
        migrant.contract = migrant.contract.model_copy(
            update={"ends_on": self.ends_on, "monthly_wage": self.monthly_wage}
        )


class ContractTerminated(DomainEvent):
    reason: ContractEndReason
    details: str

    def apply(self, migrant: Migrant) -> None:
        migrant.contract_ended = self.reason


class WelfareCheckRecorded(DomainEvent):
    channel: WelfareCheckChannel
    status: WelfareStatus
    notes: str


class OnSiteTrainingCompleted(DomainEvent):
    course: str
    provider: str


class Returned(DomainEvent):
    assisted: bool
    reason: ReturnReason
    details: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.RETURNED
        migrant.returned_at = self.occurred_at


class SkillsCertified(DomainEvent):
    trade: str
    level: str
    certifying_body: str
    certificate_number: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.REINTEGRATION
        migrant.certifications.append((self.trade, self.level, self.certifying_body))


class ReferralMade(DomainEvent):
    referral_id: UUID
    service: ReferralService
    partner: str
    notes: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.REINTEGRATION
        migrant.referrals[self.referral_id] = None


class ReferralOutcomeRecorded(DomainEvent):
    referral_id: UUID
    outcome: ReferralOutcome
    notes: str

    def apply(self, migrant: Migrant) -> None:
        migrant.referrals[self.referral_id] = self.outcome


class CaseClosed(DomainEvent):
    reason: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.CLOSED


class RegistrationCorrected(DomainEvent):
    """What was corrected: field -> {"was": old, "now": new} (as text), and why."""

    corrections: dict[str, dict[str, str | None]]
    reason: str

    def apply(self, migrant: Migrant) -> None:
        for name, change in self.corrections.items():
            value = change["now"]
            if name == "date_of_birth" and value is not None:
                value = date.fromisoformat(value)
            elif name == "sex" and value is not None:
                value = Sex(value)
            elif name == "education" and value is not None:
                value = Education(value)
            setattr(migrant, name, value)


class CycleStarted(DomainEvent):
    """Re-migration: a new cycle on the same person, back to pre-departure."""

    cycle: int
    reason: str

    def apply(self, migrant: Migrant) -> None:
        migrant.cycle = self.cycle
        migrant.stage = Stage.PRE_DEPARTURE
        migrant.contract = None
        migrant.contract_ended = None
        migrant.departed_at = migrant.arrived_at = migrant.returned_at = None


class CaseOfficerAssigned(DomainEvent):
    officer_id: UUID

    def apply(self, migrant: Migrant) -> None:
        migrant.assigned_officer_id = self.officer_id
