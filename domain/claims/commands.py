from __future__ import annotations

from typing import Self
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from domain.claims.vocabulary import ClaimKind, ClaimOutcome, ClaimStep, RecoveryChannel
from domain.commands import Command, LongText, PastDate, Reason
from domain.fields import Amount, Counter


def _positive(name: str, money) -> None:
    if money.amount_minor <= 0:
        raise ValueError(f"{name}: must be more than 0")


class OpenClaim(Command):
    """Open a money claim, on an incident abroad or owed on return.

    With incident_id it arises from that incident; without one, it is what the
    destination's scheme owes the migrant on return."""

    migrant_id: UUID
    claim_id: UUID = Field(default_factory=uuid4)
    incident_id: UUID | None = None
    kind: ClaimKind
    amount_claimed: Amount
    opened_on: PastDate
    notes: LongText = ""

    @model_validator(mode="after")
    def check_amount(self) -> Self:
        _positive("amount_claimed", self.amount_claimed)
        return self


class ClaimCommand(Command):
    claim_id: UUID
    expected_version: Counter | None = Field(default=None, ge=1)


class RecordClaimStep(ClaimCommand):
    """Record where the claim was filed: employer, labour office, court, scheme.

    The destination's social-security scheme for what is owed on return; a file
    or case number goes in the notes."""

    step: ClaimStep
    filed_on: PastDate
    notes: LongText = ""


class RecordRecovery(ClaimCommand):
    """Record an amount recovered, paid to the migrant directly or through the mission."""

    recovery_id: UUID = Field(default_factory=uuid4)
    amount: Amount
    channel: RecoveryChannel
    received_on: PastDate
    # Needed only when the recoveries would add up to more than was claimed
    # (interest, a court's award above the claim).
    reason_above_claimed: Reason | None = None

    @model_validator(mode="after")
    def check_amount(self) -> Self:
        _positive("amount", self.amount)
        return self


class CloseClaim(ClaimCommand):
    """Close the claim with its outcome."""

    outcome: ClaimOutcome
    notes: LongText = ""
