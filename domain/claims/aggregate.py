"""The Claim aggregate: an amount claimed, steps filed, recoveries, outcome."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.cases.aggregate import Migrant
from domain.cases.vocabulary import HOME_AFTER_RETURN
from domain.claims import commands as c
from domain.claims import events as e
from domain.claims.vocabulary import ClaimBasis, ClaimKind, ClaimOutcome, ClaimStatus, ClaimStep
from domain.commands import at_noon_utc
from domain.errors import IllegalTransition
from domain.model import Actor, Aggregate
from domain.values import Money


class ClaimError(IllegalTransition):
    """A claim command that does not fit the claim (amounts, stage)."""


class Claim(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.migrant_id: UUID | None = None
        self.incident_id: UUID | None = None
        self.basis: ClaimBasis | None = None
        self.kind: ClaimKind | None = None
        self.claimed: Money | None = None
        self.opened_on: date | None = None
        self.steps: list[tuple[ClaimStep, date]] = []
        self.recoveries: dict[UUID, int] = {}
        self.status = ClaimStatus.OPEN
        self.outcome: ClaimOutcome | None = None

    @classmethod
    def open(
        cls, actor: Actor, migrant: Migrant, incident: object | None, cmd: c.OpenClaim
    ) -> Claim:
        contract = migrant.contract
        if contract is None:
            raise ClaimError(
                f"{migrant.case_number} has no contract: a claim is in the contract's currency"
            )
        currency = contract.monthly_wage.currency
        if cmd.amount_claimed.currency != currency:
            raise ClaimError(
                f"amount_claimed: must be in the contract's currency {currency}, "
                f"not {cmd.amount_claimed.currency}"
            )
        if incident is not None:
            if getattr(incident, "migrant_id", None) != migrant.id:
                raise ClaimError("incident_id: the incident is not on this migrant's case")
            if cmd.kind is ClaimKind.SOCIAL_SECURITY_CONTRIBUTIONS:
                raise ClaimError(
                    "kind: social-security contributions are claimed on return, not on an incident"
                )
            basis, country = ClaimBasis.INCIDENT, getattr(incident, "country", None)
        else:
            if migrant.stage not in HOME_AFTER_RETURN:
                raise ClaimError(
                    f"incident_id: {migrant.case_number} has not returned, so a claim "
                    "needs the incident it arises from"
                )
            basis, country = ClaimBasis.RETURN, None
        return cls.start(
            cmd.claim_id,
            e.ClaimOpened,
            actor,
            occurred_at=at_noon_utc(cmd.opened_on),
            migrant_id=migrant.id,
            incident_id=cmd.incident_id,
            basis=basis,
            kind=cmd.kind,
            amount_claimed=cmd.amount_claimed,
            country=country or contract.destination_country,
            opened_on=cmd.opened_on,
            notes=cmd.notes,
        )

    @property
    def recovered_minor(self) -> int:
        return sum(self.recoveries.values())

    @property
    def outstanding_minor(self) -> int:
        assert self.claimed is not None
        return max(self.claimed.amount_minor - self.recovered_minor, 0)

    def record_step(self, actor: Actor, cmd: c.RecordClaimStep) -> None:
        self.check_is_open("record a step on")
        self.check_not_before_opening(cmd.filed_on, "filed_on")
        self.trigger(
            e.ClaimStepRecorded,
            actor,
            at_noon_utc(cmd.filed_on),
            step=cmd.step,
            filed_on=cmd.filed_on,
            notes=cmd.notes,
        )

    def record_recovery(self, actor: Actor, cmd: c.RecordRecovery) -> None:
        self.check_is_open("record a recovery on")
        assert self.claimed is not None
        if cmd.recovery_id in self.recoveries:
            raise ClaimError(f"recovery {cmd.recovery_id} is already recorded")
        if cmd.amount.currency != self.claimed.currency:
            raise ClaimError(
                f"amount: must be in the claim's currency {self.claimed.currency}, "
                f"not {cmd.amount.currency}"
            )
        self.check_not_before_opening(cmd.received_on, "received_on")
        total = self.recovered_minor + cmd.amount.amount_minor
        if total > self.claimed.amount_minor and not cmd.reason_above_claimed:
            raise ClaimError(
                f"reason_above_claimed: the recoveries would come to "
                f"{Money(amount_minor=total, currency=self.claimed.currency)}, more than the "
                f"{self.claimed} claimed; state why"
            )
        self.trigger(
            e.ClaimRecoveryRecorded,
            actor,
            at_noon_utc(cmd.received_on),
            recovery_id=cmd.recovery_id,
            amount=cmd.amount,
            channel=cmd.channel,
            received_on=cmd.received_on,
            reason_above_claimed=cmd.reason_above_claimed,
        )

    def close(self, actor: Actor, cmd: c.CloseClaim) -> None:
        self.check_is_open("close")
        assert self.claimed is not None
        full = self.recovered_minor >= self.claimed.amount_minor
        if cmd.outcome is ClaimOutcome.RECOVERED_IN_FULL and not full:
            raise ClaimError(
                "outcome: recovered_in_full needs recoveries of the whole amount claimed "
                f"({self.claimed})"
            )
        if cmd.outcome is ClaimOutcome.NOT_RECOVERED and self.recovered_minor:
            raise ClaimError("outcome: not_recovered, but recoveries are recorded")
        self.trigger(e.ClaimClosed, actor, outcome=cmd.outcome, notes=cmd.notes)

    def check_is_open(self, action: str) -> None:
        if self.status is not ClaimStatus.OPEN:
            raise ClaimError(f"cannot {action} a closed claim")

    def check_not_before_opening(self, day: date, field: str) -> None:
        assert self.opened_on is not None
        if day < self.opened_on:
            raise ClaimError(f"{field}: {day} is before the claim was opened ({self.opened_on})")
