"""What happens in a migrant's case, in the past tense. Each event applies
itself to the Migrant aggregate; the guards live in `aggregate.py`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.cases.consent import LegalBasis
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
from domain.personal import ERASED, Erased
from domain.values import CountryCode, Money, Sex, age_band

if TYPE_CHECKING:
    from domain.cases.aggregate import Migrant


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True)

    destination_country: CountryCode
    # The registered employer and agency (domain/employers), when known:
    # contracts from before the registries have none until linked.
    employer_id: UUID | None = None
    agency_id: UUID | None = None
    employer_name: str
    recruitment_agency: str | None = None
    sector: Sector
    job_title: str
    monthly_wage: Money
    starts_on: date
    ends_on: date


class MigrantRegistered(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = (
        "full_name",
        "date_of_birth",
        "national_id",
        "passport_number",
        "phone",
    )
    data_subject_field: ClassVar[str | None] = "originator_id"

    case_number: str
    full_name: str
    sex: Sex
    date_of_birth: date | Erased  # "erased" once the migrant's key is destroyed
    national_id: str | None
    passport_number: str | None
    phone: str
    county: str
    education: Education
    skills: tuple[str, ...]

    @classmethod
    def kept_when_erased(cls, state: dict[str, Any]) -> dict[str, Any]:
        # Statistics keep the age band at registration, not the birth date.
        born = date.fromisoformat(state["date_of_birth"])
        return {"age_band": age_band(born, date.fromisoformat(state["occurred_at"][:10]))}

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
    personal: ClassVar[tuple[str, ...]] = ("certificate_number",)
    data_subject_field: ClassVar[str | None] = "originator_id"

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
    """v2 (issue 16): the contract names its registered employer_id and
    agency_id (None for v1 contracts, until ContractPartiesLinked)."""

    class_version = 2
    contract: Contract

    @staticmethod
    def upcast_v1_v2(state: dict) -> dict:
        state["contract"] = {**state["contract"], "employer_id": None, "agency_id": None}
        return state

    def apply(self, migrant: Migrant) -> None:
        migrant.contract = self.contract
        migrant.contract_ended = None


class MembershipStarted(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("membership_number",)
    data_subject_field: ClassVar[str | None] = "originator_id"

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
    personal: ClassVar[tuple[str, ...]] = ("reason",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    previous_employer: str
    employer_name: str
    reason: str
    # v2 (issue 16): the registered employer, if any.
    employer_id: UUID | None = None

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict) -> dict:
        state["employer_id"] = None
        return state

    def apply(self, migrant: Migrant) -> None:
        assert migrant.contract is not None
        migrant.contract = migrant.contract.model_copy(
            update={"employer_name": self.employer_name, "employer_id": self.employer_id}
        )


class ContractWarningJustified(DomainEvent):
    """The officer was warned (a watchlisted employer or agency, an agency
    licence not valid) and went ahead with a written justification. Recorded
    just before the contract step it justifies (`step`: the event's type)."""

    step: str
    employer_id: UUID | None = None
    agency_id: UUID | None = None
    warnings: tuple[str, ...]
    justification: str


class ContractPartiesLinked(DomainEvent):
    """A contract from before the registries linked to the registered
    employer and/or agency (the one-off LinkContractParties)."""

    employer_id: UUID | None = None
    agency_id: UUID | None = None

    def apply(self, migrant: Migrant) -> None:
        assert migrant.contract is not None
        update = {"employer_id": self.employer_id, "agency_id": self.agency_id}
        migrant.contract = migrant.contract.model_copy(
            update={k: v for k, v in update.items() if v is not None}
        )


class ContractRenewed(DomainEvent):
    ends_on: date
    monthly_wage: Money

    def apply(self, migrant: Migrant) -> None:
        assert migrant.contract is not None
        migrant.contract = migrant.contract.model_copy(
            update={"ends_on": self.ends_on, "monthly_wage": self.monthly_wage}
        )


class ContractTerminated(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("details",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    reason: ContractEndReason
    details: str

    def apply(self, migrant: Migrant) -> None:
        migrant.contract_ended = self.reason


class WelfareCheckRecorded(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("notes",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    channel: WelfareCheckChannel
    status: WelfareStatus
    notes: str


class OnSiteTrainingCompleted(DomainEvent):
    course: str
    provider: str


class Returned(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("details",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    assisted: bool
    reason: ReturnReason
    details: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.RETURNED
        migrant.returned_at = self.occurred_at


class SkillsCertified(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("certificate_number",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    trade: str
    level: str
    certifying_body: str
    certificate_number: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.REINTEGRATION
        migrant.certifications.append((self.trade, self.level, self.certifying_body))


class ReferralMade(DomainEvent):
    """legal_basis: set when the migrant had not consented to sharing with
    the partner (v2; v1 referrals predate the consent rule)."""

    class_version = 2
    personal: ClassVar[tuple[str, ...]] = ("notes",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    referral_id: UUID
    service: ReferralService
    partner: str
    notes: str
    legal_basis: LegalBasis | None = None

    @staticmethod
    def upcast_v1_v2(state: dict) -> dict:
        state["legal_basis"] = None
        return state

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.REINTEGRATION
        migrant.referrals[self.referral_id] = None


class ReferralOutcomeRecorded(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("notes",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    referral_id: UUID
    outcome: ReferralOutcome
    notes: str

    def apply(self, migrant: Migrant) -> None:
        migrant.referrals[self.referral_id] = self.outcome


class CaseClosed(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("reason",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    reason: str

    def apply(self, migrant: Migrant) -> None:
        migrant.stage = Stage.CLOSED


class RegistrationCorrected(DomainEvent):
    """What was corrected: field -> {"was": old, "now": new} (as text), and why."""

    personal: ClassVar[tuple[str, ...]] = ("corrections",)
    data_subject_field: ClassVar[str | None] = "originator_id"

    corrections: dict[str, dict[str, str | None]]
    reason: str

    # Corrections of these fields are personal; of sex, county or education
    # they are not, and statistics keep them after an erasure.
    IDENTIFYING: ClassVar[frozenset[str]] = frozenset({"full_name", "date_of_birth", "phone"})

    @classmethod
    def personal_names(cls, state: dict[str, Any]) -> list[str]:
        names = [name for name in state["corrections"] if name in cls.IDENTIFYING]
        return names + ["reason"]

    @classmethod
    def split_personal(cls, state: dict[str, Any], names: list[str]) -> dict[str, Any]:
        corrections = state["corrections"]
        secret = {"corrections": {n: corrections.pop(n) for n in names if n != "reason"}}
        secret["reason"] = state.pop("reason")
        return secret

    @classmethod
    def join_personal(cls, state: dict[str, Any], secret: dict[str, Any]) -> None:
        state["corrections"].update(secret["corrections"])
        state["reason"] = secret["reason"]

    @classmethod
    def erase_personal(cls, state: dict[str, Any], names: list[str]) -> None:
        for name in names:
            if name != "reason":
                state["corrections"][name] = {"was": ERASED, "now": ERASED}
        state["reason"] = ERASED

    def apply(self, migrant: Migrant) -> None:
        for name, change in self.corrections.items():
            value = change["now"]
            if value == ERASED:
                pass
            elif name == "date_of_birth" and value is not None:
                value = date.fromisoformat(value)
            elif name == "sex" and value is not None:
                value = Sex(value)
            elif name == "education" and value is not None:
                value = Education(value)
            setattr(migrant, name, value)


class CycleStarted(DomainEvent):
    """Re-migration: a new cycle on the same person, back to pre-departure."""

    personal: ClassVar[tuple[str, ...]] = ("reason",)
    data_subject_field: ClassVar[str | None] = "originator_id"

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


class ErasureRequested(DomainEvent):
    """A data-protection officer asked for this person's personal data to be
    erased, giving the legal basis. Not personal data itself: the reason
    names the law or the request, never the person."""

    legal_basis: str

    def apply(self, migrant: Migrant) -> None:
        migrant.erasure_requested_by = self.actor_id
        migrant.erasure_legal_basis = self.legal_basis


class PersonalDataErased(DomainEvent):
    """A second data-protection officer approved the erasure: the person's
    data keys are destroyed (msafiri/erasure.py), so every personal field of
    every event about them reads "erased" from now on."""

    legal_basis: str
    requested_by: UUID

    def apply(self, migrant: Migrant) -> None:
        migrant.erased = True
        migrant.erasure_requested_by = None
