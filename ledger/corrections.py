"""Corrections and reversals that move money out of the fund: maker-checker.

A hand-made journal entry (or the reversal of a contribution, a grant or a
correction) that takes money out of the fund's assets is the same risk as a
disbursement, so it follows the same policy: one officer proposes, officers
other than the proposer approve - one at or below the policy's two-approver
threshold, two above it - and only then is it posted to the book. Entries
that move no money out (e.g. a reclassification between expense accounts, or
money coming back) are posted at once, as before.
"""

from __future__ import annotations

from uuid import UUID

from domain.model import Actor, Aggregate
from domain.values import Money
from ledger import events as e
from ledger.errors import LedgerRefusal, MakerCheckerViolation
from ledger.vocabulary import AccountType


def money_out(legs: tuple[e.Leg, ...], account_types: dict[str, AccountType]) -> int:
    """What a transfer takes out of the fund: the net credit to its asset
    accounts (a move between two of the fund's own bank accounts takes nothing
    out). `account_types` maps each leg's account code to its type."""
    net = 0
    for leg in legs:
        if account_types[leg.account] is AccountType.ASSET:
            net += leg.credit_minor - leg.debit_minor
    return max(net, 0)


class Correction(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.book_id: UUID | None = None
        self.transfer_id: UUID | None = None
        self.legs: tuple[e.Leg, ...] = ()
        self.reason = ""
        self.reverses: UUID | None = None
        self.value_at = None
        self.moves_out: Money | None = None
        self.proposed_by: UUID | None = None
        self.approvers_needed = 1
        self.approvals: list[UUID] = []
        self.status = "proposed"

    def apply_proposed(self, event: e.CorrectionProposed) -> None:
        self.book_id = event.book_id
        self.transfer_id = event.transfer_id
        self.legs = event.legs
        self.reason = event.reason
        self.reverses = event.reverses
        self.value_at = event.occurred_at
        self.moves_out = event.moves_out
        self.proposed_by = event.actor_id
        self.approvers_needed = event.approvers_needed

    def check_open(self, action: str) -> None:
        if self.status != "proposed":
            raise LedgerRefusal(f"cannot {action} a correction that is {self.status}")

    def give_approval(self, actor: Actor) -> bool:
        """Record one approval; True when enough distinct officers approved."""
        self.check_open("approve")
        if actor.officer_id == self.proposed_by:
            raise MakerCheckerViolation("the officer who proposed a correction cannot approve it")
        if actor.officer_id in self.approvals:
            raise MakerCheckerViolation(
                "you have already approved this correction; a different officer must give "
                "the second approval"
            )
        self.trigger(e.CorrectionApprovalGiven, actor)
        return len(self.approvals) >= self.approvers_needed

    def approved(self, actor: Actor) -> None:
        assert self.transfer_id is not None
        self.trigger(e.CorrectionApproved, actor, transfer_id=self.transfer_id)

    def reject(self, actor: Actor, reason: str) -> None:
        # The proposer may withdraw their own proposal: rejecting moves no money.
        self.check_open("reject")
        self.trigger(e.CorrectionRejected, actor, reason=reason)
