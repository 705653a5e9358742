"""Commands on the fund. Each carries a client-chosen `command_id`: sending
the same command again (a retry after a timeout) returns the first answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from domain.commands import Command, LongText, PastDate, Reason, Text, at_noon_utc
from domain.values import CurrencyCode, Money
from ledger.events import Leg
from ledger.vocabulary import AccountType, BenefitCategory, PaymentChannel

FundCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z][A-Z0-9]{1,9}$")
]


def _more_than_zero(money: Money) -> Money:
    if money.amount_minor <= 0:
        raise ValueError("amount must be more than zero")
    return money


PositiveMoney = Annotated[Money, AfterValidator(_more_than_zero)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=80)]


class LedgerCommand(Command):
    command_id: UUID


class OpenFund(LedgerCommand):
    fund_code: FundCode = "MWF"
    name: Text = "Migrant Welfare Fund"
    currencies: tuple[CurrencyCode, ...] = Field(default=("KES",), min_length=1, max_length=10)


AccountCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        pattern=r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z][A-Za-z0-9-]*)+$",
    ),
]


class OpenAccount(LedgerCommand):
    """Open an account (e.g. `Assets:Bank:Remittances` in USD). Accounts are
    never deleted; an empty one can be closed."""

    account: AccountCode
    currency: CurrencyCode
    type: AccountType


class CloseAccount(LedgerCommand):
    account: AccountCode
    currency: CurrencyCode
    reason: Reason


class AdoptPolicy(LedgerCommand):
    version: int = Field(ge=2)
    two_approver_threshold_minor: int = Field(ge=0)
    caps_minor: dict[BenefitCategory, int]
    claim_window_days: int = Field(default=365, ge=1, le=3650)
    expiry_days: int = Field(default=90, ge=1, le=3650)


class RecordContribution(LedgerCommand):
    """A member's contribution for the membership period it pays for."""

    migrant_id: UUID
    membership_number: Text
    amount: PositiveMoney
    received_on: PastDate
    reference: Reference


class ContributionItem(Command):
    migrant_id: UUID
    membership_number: Text
    amount_minor: int = Field(gt=0)


class RecordContributionBatch(LedgerCommand):
    """Contributions that reached the bank together (a collection agent's
    remittance): one bank credit, one line per member."""

    currency: CurrencyCode
    received_on: PastDate
    reference: Reference
    lines: tuple[ContributionItem, ...] = Field(min_length=1, max_length=100_000)


class RecordGrant(LedgerCommand):
    donor: Text
    amount: PositiveMoney
    received_on: PastDate
    reference: Reference


class PostCorrection(LedgerCommand):
    """A journal entry by hand, for what no other command covers."""

    legs: tuple[Leg, ...] = Field(min_length=2, max_length=20)
    value_date: PastDate
    reason: Reason


class RequestDisbursement(LedgerCommand):
    """`command_id` becomes the disbursement's id."""

    migrant_id: UUID
    incident_id: UUID | None = None
    category: BenefitCategory
    amount: PositiveMoney
    payee: Text
    justification: LongText = ""


class DisbursementCommand(LedgerCommand):
    disbursement_id: UUID


class ApproveDisbursement(DisbursementCommand):
    """Approve (all or part of) a request. `humanitarian_exception` approves
    against a failed eligibility check; it needs a written reason and a
    second approver."""

    amount_minor: int | None = Field(default=None, gt=0)
    humanitarian_exception: bool = False
    reason: LongText = ""

    @model_validator(mode="after")
    def check_reason(self) -> Self:
        if self.humanitarian_exception and len(self.reason) < 10:
            raise ValueError("a humanitarian exception needs a written reason (10+ characters)")
        return self


class RejectDisbursement(DisbursementCommand):
    reason: Reason


class ExpireDisbursement(DisbursementCommand):
    pass


class PayDisbursement(DisbursementCommand):
    amount_minor: int | None = Field(default=None, gt=0)
    channel: PaymentChannel
    payment_reference: Reference
    paid_on: PastDate | None = None


class ReverseTransfer(LedgerCommand):
    transfer_id: UUID
    reason: Reason


def value_day(day: date | None) -> datetime | None:
    return at_noon_utc(day) if day else None
