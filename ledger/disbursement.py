"""A request for money from the fund, and its life: requested -> approved ->
paid, or rejected / expired. It resolves exactly once, and
paid <= approved <= requested always holds."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid5

from domain.model import Actor, Aggregate
from domain.values import Money
from ledger import events as e
from ledger.errors import LedgerRefusal, MakerCheckerViolation
from ledger.vocabulary import OPEN_DISBURSEMENT, DisbursementStatus


def derived_id(parent: UUID, label: str) -> UUID:
    """Ids of the transfers a disbursement makes, derived so a retry of the
    same step can never make a second one."""
    return uuid5(parent, label)


class Disbursement(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.book_id: UUID | None = None
        self.incident_id: UUID | None = None
        self.migrant_id: UUID | None = None
        self.category = None
        self.amount: Money | None = None
        self.payee = ""
        self.requested_by: UUID | None = None
        self.requested_at: datetime | None = None
        self.assistance_request = False
        self.status = DisbursementStatus.REQUESTED
        self.approvals: list[tuple[UUID, int, bool]] = []
        self.approvers_needed = 1
        self.approved_minor = 0
        self.paid_minor = 0
        self.payment_transfer_id: UUID | None = None
        self.payments = 0
        self.expires_at: datetime | None = None
        self.approved_on: date | None = None
        # Whether the request holds a reservation (an ineligible one does not).
        self.reserved = True

    def apply_requested(self, event: e.DisbursementRequested) -> None:
        self.book_id = event.book_id
        self.incident_id = event.incident_id
        self.migrant_id = event.migrant_id
        self.category = event.category
        self.amount = event.amount
        self.payee = event.payee
        self.requested_by = event.requested_by
        self.requested_at = event.timestamp
        self.assistance_request = event.assistance_request
        self.approvers_needed = event.approvers_needed
        self.expires_at = event.expires_at
        self.reserved = event.reserved

    @property
    def currency(self) -> str:
        assert self.amount is not None
        return self.amount.currency

    @property
    def requested_minor(self) -> int:
        assert self.amount is not None
        return self.amount.amount_minor

    @property
    def reservation_id(self) -> UUID:
        return derived_id(self.id, "reservation")

    @property
    def payable_id(self) -> UUID:
        return derived_id(self.id, f"payable:{self.payments}")

    @property
    def approval_transfer_id(self) -> UUID:
        return derived_id(self.id, "approval")

    @property
    def payment_id(self) -> UUID:
        return derived_id(self.id, f"payment:{self.payments}")

    @property
    def release_id(self) -> UUID:
        return derived_id(self.id, f"release:{self.payments}")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DISBURSEMENT

    def overdue(self, now: datetime) -> bool:
        """Open and past its expiry date: any decision now must lapse it instead."""
        return self.is_open and self.expires_at is not None and now >= self.expires_at

    def check_status(self, action: str, *allowed: DisbursementStatus) -> None:
        if self.status not in allowed:
            raise LedgerRefusal(f"cannot {action} a disbursement that is {self.status.value}")

    def give_approval(
        self,
        actor: Actor,
        amount_minor: int,
        exception: bool,
        reason: str,
        eligibility: tuple[e.EligibilityCheck, ...],
        policy_version: int,
        needed: int,
    ) -> bool:
        """Record one approval; True when the request is now fully approved."""
        self.check_status("approve", DisbursementStatus.REQUESTED)
        if actor.officer_id == self.requested_by:
            raise MakerCheckerViolation(
                "the officer who requested a disbursement cannot approve it"
            )
        if any(officer == actor.officer_id for officer, _, _ in self.approvals):
            raise MakerCheckerViolation(
                "you have already approved this request; a different officer must give "
                "the second approval"
            )
        ceiling = min([self.requested_minor] + [amount for _, amount, _ in self.approvals])
        if amount_minor > ceiling:
            raise LedgerRefusal(
                f"cannot approve {amount_minor} (minor units): more than the {ceiling} "
                "requested or already approved"
            )
        self.trigger(
            e.DisbursementApprovalGiven,
            actor,
            amount=Money(amount_minor=amount_minor, currency=self.currency),
            humanitarian_exception=exception,
            reason=reason,
            eligibility=eligibility,
            policy_version=policy_version,
            approvers_needed=max(needed, self.approvers_needed),
        )
        if len(self.approvals) < self.approvers_needed:
            return False
        self.trigger(
            e.DisbursementApproved,
            actor,
            amount=Money(amount_minor=amount_minor, currency=self.currency),
            policy_version=policy_version,
        )
        return True

    def reject(self, actor: Actor, reason: str, policy_version: int) -> None:
        self.check_status("reject", DisbursementStatus.REQUESTED)
        if actor.officer_id == self.requested_by:
            raise MakerCheckerViolation("the officer who requested a disbursement cannot decide it")
        self.trigger(e.DisbursementRejected, actor, reason=reason, policy_version=policy_version)

    def expire(self, actor: Actor, now: datetime) -> DisbursementStatus:
        self.check_status("expire", *OPEN_DISBURSEMENT)
        assert self.expires_at is not None
        if now < self.expires_at:
            raise LedgerRefusal(f"the request does not lapse until {self.expires_at:%Y-%m-%d}")
        was = self.status
        self.trigger(
            e.DisbursementExpired,
            actor,
            reason=f"not {'paid' if was is DisbursementStatus.APPROVED else 'decided'} "
            f"by {self.expires_at:%Y-%m-%d}",
        )
        return was

    def pay(
        self, actor: Actor, amount_minor: int, channel, reference: str, transfer_id: UUID, paid_at
    ) -> None:
        self.check_status("pay", DisbursementStatus.APPROVED)
        if amount_minor > self.approved_minor:
            raise LedgerRefusal(
                f"cannot pay {amount_minor}: only {self.approved_minor} (minor units) was approved"
            )
        self.trigger(
            e.DisbursementPaid,
            actor,
            occurred_at=paid_at,
            amount=Money(amount_minor=amount_minor, currency=self.currency),
            channel=channel,
            payment_reference=reference,
            transfer_id=transfer_id,
        )

    def payment_reversed(self, actor: Actor, reversal_id: UUID, reason: str) -> None:
        self.check_status("reverse the payment of", DisbursementStatus.PAID)
        assert self.payment_transfer_id is not None
        self.trigger(
            e.DisbursementPaymentReversed,
            actor,
            transfer_id=self.payment_transfer_id,
            reversal_transfer_id=reversal_id,
            reason=reason,
        )


class Claim(Aggregate):
    """Every request for one benefit on one incident (or, without an
    incident, for one member), so 'no second payment of the same benefit'
    is checked against all of them and races are caught by its version."""

    def __init__(self, id: UUID):
        super().__init__(id)
        self.requests: dict[UUID, str] = {}

    def others(self, disbursement_id: UUID, status: str) -> int:
        return sum(1 for d, s in self.requests.items() if d != disbursement_id and s == status)

    def add(self, actor: Actor, disbursement_id: UUID) -> None:
        self.trigger(e.ClaimRequestAdded, actor, disbursement_id=disbursement_id)

    def settle(self, actor: Actor, disbursement_id: UUID, status: str) -> None:
        self.trigger(e.ClaimRequestSettled, actor, disbursement_id=disbursement_id, status=status)
