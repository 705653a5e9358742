"""Events of the Migrant Welfare Fund ledger.

The fund's `Book` records every money movement (its events *are* the
journal); a `Disbursement` records the life of one request for money; a
`CommandReceipt` records the outcome of each client-chosen command id so a
retry returns the first answer and never pays twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.model import DomainEvent
from domain.values import CurrencyCode, Money, Role, UtcDatetime
from ledger.policy import ApprovalPolicy
from ledger.vocabulary import (
    AccountType,
    BenefitCategory,
    DisbursementStatus,
    PaymentChannel,
    TransferKind,
)

if TYPE_CHECKING:
    from ledger.book import Book
    from ledger.corrections import Correction
    from ledger.disbursement import Disbursement
    from ledger.receipts import CommandReceipt
    from ledger.transfer import Transfer


class Leg(BaseModel):
    """One line of a transfer: an account (code + currency) debited or credited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    currency: CurrencyCode
    debit_minor: int = Field(default=0, ge=0)
    credit_minor: int = Field(default=0, ge=0)


class ContributionLine(BaseModel):
    """The member a contribution is for and the membership period it pays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    migrant_id: UUID
    membership_number: str
    amount_minor: int = Field(gt=0)


class EligibilityCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    passed: bool
    reason: str


# --- the book -------------------------------------------------------------


class FundOpened(DomainEvent):
    fund_code: str
    name: str

    def new_aggregate(self) -> Any:
        from ledger.book import Book

        return Book(self.originator_id)

    def apply(self, book: Book) -> None:
        book.fund_code = self.fund_code
        book.name = self.name
        # `occurred_at` is the day the fund really opened: nothing is dated before it.
        book.opened_on = self.occurred_at.date()


class AccountOpened(DomainEvent):
    account: str
    currency: CurrencyCode
    type: AccountType

    def apply(self, book: Book) -> None:
        book.open_account_state(self.account, self.currency, self.type)


class AccountClosed(DomainEvent):
    account: str
    currency: CurrencyCode
    reason: str

    def apply(self, book: Book) -> None:
        book.account(self.account, self.currency).closed = True


class PolicyAdopted(DomainEvent):
    policy: ApprovalPolicy

    def apply(self, book: Book) -> None:
        book.policy = self.policy


class TransferPosted(DomainEvent):
    """A posted (final) transfer. `occurred_at` is its value date."""

    personal: ClassVar[tuple[str, ...]] = ("memo",)
    data_key_field: ClassVar[str] = "disbursement_id"

    transfer_id: UUID
    kind: TransferKind
    legs: tuple[Leg, ...]
    memo: str
    disbursement_id: UUID | None = None
    reverses: UUID | None = None
    reference: str | None = None
    contributions: tuple[ContributionLine, ...] = ()

    def apply(self, book: Book) -> None:
        book.apply_posted(self)


class TransferReserved(DomainEvent):
    """A pending transfer: it reserves the amount (available = posted - pending)."""

    personal: ClassVar[tuple[str, ...]] = ("memo",)
    data_key_field: ClassVar[str] = "disbursement_id"

    pending_id: UUID
    kind: TransferKind
    legs: tuple[Leg, ...]
    memo: str
    disbursement_id: UUID | None = None

    def apply(self, book: Book) -> None:
        book.apply_reserved(self)


class ReservationPosted(DomainEvent):
    """A pending transfer made final, for up to its amount; the rest is released.

    The payment's reference (a bank or mobile-money transaction id) leads,
    with the provider's records, to the person paid: it is sealed under the
    disbursement's key. v2 names the disbursement (v1 events hold None and
    keep their reference under the master key only)."""

    class_version = 2
    personal: ClassVar[tuple[str, ...]] = ("reference",)
    data_key_field: ClassVar[str] = "disbursement_id"

    pending_id: UUID
    transfer_id: UUID
    amount_minor: int = Field(gt=0)
    reference: str
    disbursement_id: UUID | None = None

    @staticmethod
    def upcast_v1_v2(state: dict) -> dict:
        state["disbursement_id"] = None
        return state

    def apply(self, book: Book) -> None:
        book.apply_reservation_posted(self)


class ReservationVoided(DomainEvent):
    pending_id: UUID
    reason: str

    def apply(self, book: Book) -> None:
        book.apply_reservation_voided(self)


class IneligibleRequestRecorded(DomainEvent):
    """A request that failed eligibility is kept on record, reserving nothing
    until it is approved as a humanitarian exception."""

    disbursement_id: UUID

    def apply(self, book: Book) -> None:
        book.unreserved.add(self.disbursement_id)


class IneligibleRequestClosed(DomainEvent):
    """Such a request was rejected or lapsed without ever reserving money."""

    disbursement_id: UUID
    status: str

    def apply(self, book: Book) -> None:
        book.unreserved.discard(self.disbursement_id)


# --- one record per posted transfer -----------------------------------------


class TransferRecorded(DomainEvent):
    """A posted transfer, kept as its own record (saved in the same atomic
    save as the book's `TransferPosted` / `ReservationPosted`), so the book
    holds balances and open reservations only and stays the same size
    however long the fund runs. `occurred_at` is its value date."""

    book_id: UUID
    transfer_id: UUID
    kind: TransferKind
    legs: tuple[Leg, ...]
    disbursement_id: UUID | None = None
    reverses: UUID | None = None

    def new_aggregate(self) -> Any:
        from ledger.transfer import Transfer

        return Transfer(self.originator_id)

    def apply(self, transfer: Transfer) -> None:
        transfer.apply_recorded(self)


class TransferReversed(DomainEvent):
    """The transfer was reversed by `reversal_id` (at most once: a second
    reversal racing the first loses on this record's version)."""

    reversal_id: UUID

    def apply(self, transfer: Transfer) -> None:
        transfer.reversed_by = self.reversal_id


# --- disbursements ----------------------------------------------------------


class DisbursementRequested(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("payee", "justification")
    data_subject_field: ClassVar[str | None] = "migrant_id"

    book_id: UUID
    incident_id: UUID | None
    migrant_id: UUID
    category: BenefitCategory
    amount: Money
    payee: str
    justification: str
    requested_by: UUID
    requested_by_role: Role
    # Where it came from: an attaché's assistance request on an incident
    # (through the fund process) or a direct request to the fund.
    assistance_request: bool
    eligibility: tuple[EligibilityCheck, ...]
    policy_version: int
    approvers_needed: int
    expires_at: UtcDatetime
    # False when it failed eligibility: it reserves nothing until approved.
    reserved: bool = True

    def new_aggregate(self) -> Any:
        from ledger.disbursement import Disbursement

        return Disbursement(self.originator_id)

    def apply(self, d: Disbursement) -> None:
        d.apply_requested(self)


class DisbursementApprovalGiven(DomainEvent):
    """One approver's decision. The request is approved once the policy's
    number of distinct approvers (never the requester) is reached."""

    personal: ClassVar[tuple[str, ...]] = ("reason",)

    amount: Money
    humanitarian_exception: bool
    reason: str
    eligibility: tuple[EligibilityCheck, ...]
    policy_version: int
    approvers_needed: int

    def apply(self, d: Disbursement) -> None:
        d.approvals.append((self.actor_id, self.amount.amount_minor, self.humanitarian_exception))
        d.approvers_needed = self.approvers_needed


class DisbursementApproved(DomainEvent):
    amount: Money
    policy_version: int

    def apply(self, d: Disbursement) -> None:
        d.status = DisbursementStatus.APPROVED
        d.approved_minor = self.amount.amount_minor
        d.approved_on = self.timestamp.date()


class DisbursementRejected(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("reason",)

    reason: str
    policy_version: int

    def apply(self, d: Disbursement) -> None:
        d.status = DisbursementStatus.REJECTED


class DisbursementExpired(DomainEvent):
    reason: str

    def apply(self, d: Disbursement) -> None:
        d.status = DisbursementStatus.EXPIRED


class DisbursementPaid(DomainEvent):
    # The transaction id leads to the person paid (see ReservationPosted).
    personal: ClassVar[tuple[str, ...]] = ("payment_reference",)

    amount: Money
    channel: PaymentChannel
    payment_reference: str
    transfer_id: UUID

    def apply(self, d: Disbursement) -> None:
        d.status = DisbursementStatus.PAID
        d.paid_minor = self.amount.amount_minor
        d.payment_transfer_id = self.transfer_id
        d.payments += 1


class DisbursementPaymentReversed(DomainEvent):
    """The payment came back (e.g. a bounced mobile-money transfer): the
    disbursement is approved again and can be paid anew."""

    personal: ClassVar[tuple[str, ...]] = ("reason",)

    transfer_id: UUID
    reversal_transfer_id: UUID
    reason: str

    def apply(self, d: Disbursement) -> None:
        d.status = DisbursementStatus.APPROVED
        d.paid_minor = 0
        d.payment_transfer_id = None


# --- corrections and reversals that move money out: maker-checker ----------


class CorrectionProposed(DomainEvent):
    """A correction (or, with `reverses`, a reversal) that moves money out of
    the fund, waiting for approval by officers other than the proposer.
    `occurred_at` is its value date; `transfer_id` is what it posts as."""

    book_id: UUID
    transfer_id: UUID
    legs: tuple[Leg, ...]
    reason: str
    reverses: UUID | None = None
    moves_out: Money
    policy_version: int
    approvers_needed: int

    def new_aggregate(self) -> Any:
        from ledger.corrections import Correction

        return Correction(self.originator_id)

    def apply(self, correction: Correction) -> None:
        correction.apply_proposed(self)


class CorrectionApprovalGiven(DomainEvent):
    """One approver's decision; posted once the policy's number is reached."""

    def apply(self, correction: Correction) -> None:
        correction.approvals.append(self.actor_id)


class CorrectionApproved(DomainEvent):
    """Fully approved: the transfer was posted to the book in the same save."""

    transfer_id: UUID

    def apply(self, correction: Correction) -> None:
        correction.status = "approved"


class CorrectionRejected(DomainEvent):
    reason: str

    def apply(self, correction: Correction) -> None:
        correction.status = "rejected"


# --- command receipts -------------------------------------------------------


class CommandAccepted(DomainEvent):
    command: str
    content_hash: str
    result: dict[str, Any]

    def new_aggregate(self) -> Any:
        from ledger.receipts import CommandReceipt

        return CommandReceipt(self.originator_id)

    def apply(self, receipt: CommandReceipt) -> None:
        receipt.record(self.command, self.content_hash, self.result, None)


class CommandRefused(DomainEvent):
    command: str
    content_hash: str
    error: str
    message: str

    def new_aggregate(self) -> Any:
        from ledger.receipts import CommandReceipt

        return CommandReceipt(self.originator_id)

    def apply(self, receipt: CommandReceipt) -> None:
        receipt.record(self.command, self.content_hash, None, (self.error, self.message))


# --- claims: one per incident (or member) and benefit ------------------------


class ClaimRequestAdded(DomainEvent):
    disbursement_id: UUID

    def new_aggregate(self) -> Any:
        from ledger.disbursement import Claim

        return Claim(self.originator_id)

    def apply(self, claim: Any) -> None:
        claim.requests[self.disbursement_id] = "requested"


class ClaimRequestSettled(DomainEvent):
    disbursement_id: UUID
    status: str

    def apply(self, claim: Any) -> None:
        claim.requests[self.disbursement_id] = self.status
