from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.claims.vocabulary import (
    ClaimBasis,
    ClaimKind,
    ClaimOutcome,
    ClaimStatus,
    ClaimStep,
    RecoveryChannel,
)
from domain.model import DomainEvent
from domain.values import CountryCode, Money

if TYPE_CHECKING:
    from domain.claims.aggregate import Claim


class ClaimOpened(DomainEvent):
    """A claim, in the currency of the migrant's contract. The officer's notes
    are personal (sealed under the claim's data key, the migrant's subject)."""

    personal: ClassVar[tuple[str, ...]] = ("notes",)
    data_subject_field: ClassVar[str | None] = "migrant_id"

    migrant_id: UUID
    incident_id: UUID | None
    basis: ClaimBasis
    kind: ClaimKind
    amount_claimed: Money
    country: CountryCode
    opened_on: date
    notes: str

    def new_aggregate(self) -> Any:
        from domain.claims.aggregate import Claim

        return Claim(self.originator_id)

    def apply(self, claim: Claim) -> None:
        claim.migrant_id = self.migrant_id
        claim.incident_id = self.incident_id
        claim.basis = self.basis
        claim.kind = self.kind
        claim.claimed = self.amount_claimed
        claim.opened_on = self.opened_on
        claim.status = ClaimStatus.OPEN


class ClaimStepRecorded(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("notes",)

    step: ClaimStep
    filed_on: date
    notes: str

    def apply(self, claim: Claim) -> None:
        claim.steps.append((self.step, self.filed_on))


class ClaimRecoveryRecorded(DomainEvent):
    """An amount recovered. `reason_above_claimed` is set when the recoveries
    came to more than the amount claimed."""

    personal: ClassVar[tuple[str, ...]] = ("reason_above_claimed",)

    recovery_id: UUID
    amount: Money
    channel: RecoveryChannel
    received_on: date
    reason_above_claimed: str | None

    def apply(self, claim: Claim) -> None:
        claim.recoveries[self.recovery_id] = self.amount.amount_minor


class ClaimClosed(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("notes",)

    outcome: ClaimOutcome
    notes: str

    def apply(self, claim: Claim) -> None:
        claim.status = ClaimStatus.CLOSED
        claim.outcome = self.outcome
