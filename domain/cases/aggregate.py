"""The Migrant aggregate: one person's case and its guards.

Methods are imperative, take the acting officer and a validated command, check
the stage, then trigger a past-tense event. An illegal transition raises
IllegalTransition with a sentence an officer understands; nothing is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from domain.cases import commands as c
from domain.cases import consent as cs
from domain.cases import events as e
from domain.cases.vocabulary import ABROAD, HOME_AFTER_RETURN, Stage
from domain.commands import at_noon_utc
from domain.errors import IllegalTransition, NotFound
from domain.ids import case_number
from domain.model import Actor, Aggregate
from domain.values import Sex


class Migrant(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.case_number = case_number(id)
        self.full_name = ""
        self.sex: Sex | None = None
        self.date_of_birth: date | None = None
        self.national_id: str | None = None
        self.passport_number: str | None = None
        self.phone = ""
        self.county = ""
        self.education = None
        self.skills: list[str] = []
        self.stage = Stage.PRE_DEPARTURE
        self.cycle = 1
        self.oriented_in_cycle = 0
        self.contract: e.Contract | None = None
        self.contract_ended = None
        self.memberships: list[tuple[str, date, date]] = []
        self.departed_at: datetime | None = None
        self.arrived_at: datetime | None = None
        self.returned_at: datetime | None = None
        self.certifications: list[tuple[str, str, str]] = []
        self.referrals: dict[UUID, object] = {}
        self.assigned_officer_id: UUID | None = None
        # (scope, provider key) -> True given, False withdrawn (consent.py).
        self.consents: dict[tuple[cs.ConsentScope, str], bool] = {}
        self.erasure_requested_by: UUID | None = None
        self.erasure_legal_basis = ""
        self.erased = False

    # -- creation -------------------------------------------------------------

    @classmethod
    def register(cls, migrant_id: UUID, actor: Actor, cmd: c.RegisterMigrant) -> Migrant:
        fields = cmd.model_dump(exclude={"registered_on"})
        # `start`, with the case number the new aggregate computed already.
        migrant = cls(migrant_id)
        migrant.trigger(
            e.MigrantRegistered,
            actor,
            occurred_at=at_noon_utc(cmd.registered_on),
            case_number=migrant.case_number,
            **fields,
        )
        return migrant

    # -- pre-departure --------------------------------------------------------

    def complete_orientation(self, actor: Actor, cmd: c.CompleteOrientation) -> None:
        self.check_stage("record an orientation", Stage.PRE_DEPARTURE)
        self.trigger(
            e.OrientationCompleted,
            actor,
            at_noon_utc(cmd.completed_on),
            course=cmd.course,
            provider=cmd.provider,
            certificate_number=cmd.certificate_number,
        )

    def assess_skills(self, actor: Actor, cmd: c.AssessSkills) -> None:
        self.check_stage("assess skills", Stage.PRE_DEPARTURE, *HOME_AFTER_RETURN)
        self.trigger(
            e.SkillsAssessed,
            actor,
            at_noon_utc(cmd.assessed_on),
            trade=cmd.trade,
            level=cmd.level,
            assessor=cmd.assessor,
        )

    def register_contract(self, actor: Actor, cmd: c.RegisterContract) -> None:
        self.check_stage("register an employment contract", Stage.PRE_DEPARTURE)
        fields = cmd.model_dump(exclude={"migrant_id", "expected_version", "justification"})
        contract = e.Contract(**fields)
        self.trigger(e.ContractRegistered, actor, contract=contract)

    def justify_contract_warnings(
        self,
        actor: Actor,
        step: str,
        warnings: list[str],
        justification: str,
        employer_id: UUID | None,
        agency_id: UUID | None,
    ) -> None:
        self.trigger(
            e.ContractWarningJustified,
            actor,
            step=step,
            warnings=tuple(warnings),
            justification=justification,
            employer_id=employer_id,
            agency_id=agency_id,
        )

    def link_contract_parties(self, actor: Actor, cmd: c.LinkContractParties) -> None:
        if self.contract is None:
            raise IllegalTransition(f"{self.case_number} has no contract to link")
        for name, value in (("employer_id", cmd.employer_id), ("agency_id", cmd.agency_id)):
            held = getattr(self.contract, name)
            if value is not None and held is not None:
                raise IllegalTransition(
                    f"the contract of {self.case_number} is already linked ({name} {held})"
                )
        self.trigger(
            e.ContractPartiesLinked, actor, employer_id=cmd.employer_id, agency_id=cmd.agency_id
        )

    def start_membership(self, actor: Actor, cmd: c.StartMembership) -> None:
        self.check_stage("start a welfare-fund membership", Stage.PRE_DEPARTURE, *ABROAD)
        for number, starts_on, ends_on in self.memberships:
            if cmd.starts_on <= ends_on and starts_on <= cmd.ends_on:
                raise IllegalTransition(
                    f"membership {number} already covers {starts_on} to {ends_on}"
                )
        self.trigger(
            e.MembershipStarted,
            actor,
            at_noon_utc(cmd.starts_on),
            membership_number=cmd.membership_number,
            starts_on=cmd.starts_on,
            ends_on=cmd.ends_on,
        )

    def depart(self, actor: Actor, cmd: c.RecordDeparture) -> None:
        self.check_stage("record a departure", Stage.PRE_DEPARTURE)
        if self.contract is None:
            raise IllegalTransition("register the employment contract before recording departure")
        self.trigger(e.Departed, actor, at_noon_utc(cmd.departed_on), port_of_exit=cmd.port_of_exit)

    # -- on site --------------------------------------------------------------

    def arrive(self, actor: Actor, cmd: c.RecordArrival) -> None:
        self.check_stage("record an arrival", Stage.DEPARTED)
        arrived_at = at_noon_utc(cmd.arrived_on)
        self.check_not_before(arrived_at, self.departed_at, "arrival", "departure")
        self.trigger(e.Arrived, actor, arrived_at)

    def change_employer(self, actor: Actor, cmd: c.ChangeEmployer) -> None:
        self.check_stage("record a change of employer", Stage.ON_SITE)
        assert self.contract is not None
        self.trigger(
            e.EmployerChanged,
            actor,
            at_noon_utc(cmd.changed_on),
            previous_employer=self.contract.employer_name,
            employer_name=cmd.employer_name,
            employer_id=cmd.employer_id,
            reason=cmd.reason,
        )

    def renew_contract(self, actor: Actor, cmd: c.RenewContract) -> None:
        self.check_stage("renew the contract", Stage.ON_SITE)
        assert self.contract is not None
        if cmd.ends_on <= self.contract.ends_on:
            raise IllegalTransition(
                f"a renewal must end after the current end date {self.contract.ends_on}"
            )
        wage = cmd.monthly_wage or self.contract.monthly_wage
        self.trigger(
            e.ContractRenewed,
            actor,
            at_noon_utc(cmd.renewed_on),
            ends_on=cmd.ends_on,
            monthly_wage=wage,
        )

    def terminate_contract(self, actor: Actor, cmd: c.TerminateContract) -> None:
        self.check_stage("terminate the contract", *ABROAD)
        if self.contract_ended is not None:
            raise IllegalTransition(f"the contract already ended ({self.contract_ended})")
        self.trigger(
            e.ContractTerminated,
            actor,
            at_noon_utc(cmd.terminated_on),
            reason=cmd.reason,
            details=cmd.details,
        )

    def record_welfare_check(self, actor: Actor, cmd: c.RecordWelfareCheck) -> None:
        self.check_stage("record a welfare check", *ABROAD)
        self.trigger(
            e.WelfareCheckRecorded,
            actor,
            at_noon_utc(cmd.checked_on),
            channel=cmd.channel,
            status=cmd.status,
            notes=cmd.notes,
        )

    def record_on_site_training(self, actor: Actor, cmd: c.RecordOnSiteTraining) -> None:
        self.check_stage("record on-site training", Stage.ON_SITE)
        self.trigger(
            e.OnSiteTrainingCompleted,
            actor,
            at_noon_utc(cmd.completed_on),
            course=cmd.course,
            provider=cmd.provider,
        )

    # -- return and reintegration ---------------------------------------------

    def record_return(self, actor: Actor, cmd: c.RecordReturn) -> None:
        if self.stage not in ABROAD:
            raise IllegalTransition(
                f"cannot record a return for {self.case_number}: the migrant is not abroad "
                f"(stage: {self.stage.value.replace('_', ' ')})"
            )
        returned_at = at_noon_utc(cmd.returned_on)
        self.check_not_before(returned_at, self.departed_at, "return", "departure")
        self.trigger(
            e.Returned,
            actor,
            returned_at,
            assisted=cmd.assisted,
            reason=cmd.reason,
            details=cmd.details,
        )

    def certify_skills(self, actor: Actor, cmd: c.CertifySkills) -> None:
        self.check_stage("certify skills (RPL)", *HOME_AFTER_RETURN)
        self.trigger(
            e.SkillsCertified,
            actor,
            at_noon_utc(cmd.certified_on),
            trade=cmd.trade,
            level=cmd.level,
            certifying_body=cmd.certifying_body,
            certificate_number=cmd.certificate_number,
        )

    def make_referral(self, actor: Actor, cmd: c.MakeReferral) -> None:
        self.check_stage("make a referral", *HOME_AFTER_RETURN)
        if cmd.referral_id in self.referrals:
            raise IllegalTransition(f"referral {cmd.referral_id} already exists")
        self.check_may_share_with(cmd.partner, cmd.legal_basis)
        self.trigger(
            e.ReferralMade,
            actor,
            at_noon_utc(cmd.referred_on),
            referral_id=cmd.referral_id,
            service=cmd.service,
            partner=cmd.partner,
            notes=cmd.notes,
            legal_basis=cmd.legal_basis,
        )

    def record_referral_outcome(self, actor: Actor, cmd: c.RecordReferralOutcome) -> None:
        if cmd.referral_id not in self.referrals:
            raise NotFound(f"{self.case_number} has no referral {cmd.referral_id}")
        if self.referrals[cmd.referral_id] not in (None, "ongoing"):
            raise IllegalTransition(
                f"referral {cmd.referral_id} already has the outcome "
                f"{self.referrals[cmd.referral_id]}"
            )
        self.trigger(
            e.ReferralOutcomeRecorded,
            actor,
            at_noon_utc(cmd.recorded_on),
            referral_id=cmd.referral_id,
            outcome=cmd.outcome,
            notes=cmd.notes,
        )

    def close(self, actor: Actor, cmd: c.CloseCase) -> None:
        if self.stage is Stage.CLOSED:
            raise IllegalTransition(f"{self.case_number} is already closed")
        if self.stage in ABROAD:
            raise IllegalTransition(
                f"{self.case_number} cannot be closed while the migrant is abroad; "
                "record the return first"
            )
        self.trigger(e.CaseClosed, actor, at_noon_utc(cmd.closed_on), reason=cmd.reason)

    def correct_registration(self, actor: Actor, cmd: c.CorrectRegistration) -> None:
        corrections = {}
        for name, value in cmd.corrections().items():
            was = getattr(self, name)
            if str(was) != str(value):
                corrections[name] = {
                    "was": None if was is None else str(was),
                    "now": str(value),
                }
        if not corrections:
            raise IllegalTransition("nothing to correct: the case already holds these values")
        self.trigger(e.RegistrationCorrected, actor, corrections=corrections, reason=cmd.reason)

    def start_new_cycle(self, actor: Actor, cmd: c.StartNewCycle) -> None:
        self.check_stage("start a new migration cycle", *HOME_AFTER_RETURN, Stage.CLOSED)
        self.trigger(
            e.CycleStarted,
            actor,
            at_noon_utc(cmd.started_on),
            cycle=self.cycle + 1,
            reason=cmd.reason,
        )

    def assign_officer(self, actor: Actor, cmd: c.AssignCaseOfficer) -> None:
        self.trigger(e.CaseOfficerAssigned, actor, officer_id=cmd.officer_id)

    # -- consent --------------------------------------------------------------

    def record_consent(self, actor: Actor, cmd: cs.RecordConsent) -> None:
        if self.consents.get((cmd.scope, cs.provider_key(cmd.provider))) is True:
            raise IllegalTransition(f"{self.case_number} already holds this consent")
        self.trigger(
            cs.ConsentRecorded,
            actor,
            at_noon_utc(cmd.given_on),
            scope=cmd.scope,
            provider=cmd.provider,
        )

    def withdraw_consent(self, actor: Actor, cmd: cs.WithdrawConsent) -> None:
        held = self.consents.get((cmd.scope, cs.provider_key(cmd.provider)))
        # Partner sharing holds until withdrawn, so it can be withdrawn
        # without having been recorded; the other scopes only once given.
        given = held is True or (held is None and cmd.scope is cs.ConsentScope.PARTNER_SHARING)
        if not given:
            what = f" to {cmd.provider}" if cmd.provider else ""
            raise IllegalTransition(
                f"{self.case_number} holds no {cmd.scope.value.replace('_', ' ')} "
                f"consent{what} to withdraw"
            )
        self.trigger(
            cs.ConsentWithdrawn,
            actor,
            at_noon_utc(cmd.withdrawn_on),
            scope=cmd.scope,
            provider=cmd.provider,
        )

    def has_consent(self, scope: cs.ConsentScope, provider: str | None = None) -> bool:
        return self.consents.get((scope, cs.provider_key(provider))) is True

    @property
    def shares_with_partners(self) -> bool:
        return self.consents.get((cs.ConsentScope.PARTNER_SHARING, "")) is not False

    def check_may_share_with(self, provider: str, legal_basis: cs.LegalBasis | None) -> None:
        """A referral shares the case with its provider: it needs the migrant's
        consent to that provider, or a lawful basis to go without it."""
        if legal_basis is None and not self.has_consent(cs.ConsentScope.REFERRAL_SHARING, provider):
            bases = ", ".join(b.value for b in cs.LegalBasis)
            raise IllegalTransition(
                f"{self.case_number} has no consent to share with {provider}: record the "
                f"migrant's consent first, or give the legal_basis ({bases})"
            )

    # -- erasure (a data-protection officer asks, a second one approves) -------

    def request_erasure(self, actor: Actor, cmd: c.RequestErasure) -> None:
        self.check_not_erased()
        if self.erasure_requested_by is not None:
            raise IllegalTransition(
                f"erasure of {self.case_number} is already requested; "
                "a second data-protection officer approves it"
            )
        self.trigger(e.ErasureRequested, actor, legal_basis=cmd.legal_basis)

    def approve_erasure(self, actor: Actor, cmd: c.ApproveErasure) -> None:
        self.check_not_erased()
        if self.erasure_requested_by is None:
            raise IllegalTransition(f"no erasure of {self.case_number} is requested")
        if self.erasure_requested_by == actor.officer_id:
            raise IllegalTransition(
                f"you requested the erasure of {self.case_number}: a different "
                "data-protection officer must approve it"
            )
        self.trigger(
            e.PersonalDataErased,
            actor,
            legal_basis=self.erasure_legal_basis,
            requested_by=self.erasure_requested_by,
        )

    # -- guards ---------------------------------------------------------------

    def check_not_erased(self) -> None:
        if self.erased:
            raise IllegalTransition(
                f"the personal data of {self.case_number} was erased: "
                "nothing more is recorded on this case"
            )

    def has_departed_in_this_cycle(self) -> bool:
        return self.departed_at is not None

    def check_stage(self, action: str, *allowed: Stage) -> None:
        if self.stage not in allowed:
            stages = " or ".join(s.value.replace("_", " ") for s in allowed)
            raise IllegalTransition(
                f"cannot {action} for {self.case_number}: the case is at stage "
                f"'{self.stage.value.replace('_', ' ')}', it must be {stages}"
            )

    def check_not_before(
        self, when: datetime, earlier: datetime | None, what: str, earlier_what: str
    ) -> None:
        if earlier is not None and when < earlier:
            raise IllegalTransition(
                f"the {what} date {when.date()} is before the {earlier_what} date {earlier.date()}"
            )
