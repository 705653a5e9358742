"""Commands on the fund. Each carries a client-chosen `command_id`: sending
the same command again (a retry after a timeout) returns the first answer."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from domain.commands import Command, LongText, PastDate, Reason, Text, at_noon_utc
from domain.fields import (
    MAX_MINOR_UNITS,
    Amount,
    Counter,
    MinorUnits,
    Reference,
    max_minor_units,
)
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


PositiveMoney = Annotated[Amount, AfterValidator(_more_than_zero)]


class LedgerCommand(Command):
    command_id: UUID


class OpenFund(LedgerCommand):
    """Open the fund. `opened_on` is the day it really opened (default today,
    UTC): nothing can be dated before it, so a fund that brings its history
    in opens on the day that history starts."""

    fund_code: FundCode = "MWF"
    name: Text = "Migrant Welfare Fund"
    currencies: tuple[CurrencyCode, ...] = Field(default=("KES",), min_length=1, max_length=10)
    opened_on: PastDate | None = None


ACCOUNT_PATTERN = r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z][A-Za-z0-9-]*)+"
AccountCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100, pattern=f"^{ACCOUNT_PATTERN}$"),
]


class OpenAccount(LedgerCommand):
    """Open an account (e.g. `Assets:Bank:Remittances` in USD). Accounts are
    never deleted; an empty one can be closed."""

    account: AccountCode
    currency: CurrencyCode
    type: AccountType


class CloseAccount(LedgerCommand):
    """Close an account that has no balance left."""

    account: AccountCode
    currency: CurrencyCode
    reason: Reason


class AdoptPolicy(LedgerCommand):
    """Adopt a new version of the fund's approval policy (caps, thresholds, approvers)."""

    version: Counter = Field(ge=2)
    two_approver_threshold_minor: MinorUnits
    caps_minor: dict[BenefitCategory, MinorUnits]
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
    amount_minor: MinorUnits = Field(gt=0)


def _total_within_maximum(lines: tuple[ContributionItem, ...]) -> tuple[ContributionItem, ...]:
    # The batch is one bank credit of the lines' sum. Checked against the
    # largest maximum here (the batch's currency is another field), against
    # the currency's own by the batch.
    if sum(line.amount_minor for line in lines) > MAX_MINOR_UNITS:
        raise ValueError(f"the lines add up to more than {MAX_MINOR_UNITS:,} minor units")
    return lines


ContributionLines = Annotated[tuple[ContributionItem, ...], AfterValidator(_total_within_maximum)]
# A batch is one event, published as one NATS message (1 MB by default):
# a line takes about 120 bytes there.
MAX_BATCH_LINES = 5_000


class RecordContributionBatch(LedgerCommand):
    """Contributions that reached the bank together (a collection agent's
    remittance): one bank credit, one line per member."""

    currency: CurrencyCode
    received_on: PastDate
    reference: Reference
    lines: ContributionLines = Field(min_length=1, max_length=MAX_BATCH_LINES)

    @model_validator(mode="after")
    def check_total(self) -> Self:
        limit = max_minor_units(self.currency)
        if sum(line.amount_minor for line in self.lines) > limit:
            raise ValueError(f"lines: add up to more than {limit:,} minor units of {self.currency}")
        return self


class RecordGrant(LedgerCommand):
    """Record a grant received into the fund (donor, amount, date received)."""

    donor: Text
    amount: PositiveMoney
    received_on: PastDate
    reference: Reference


def _bounded_leg(leg: Leg) -> Leg:
    if len(leg.account) > 100 or not re.fullmatch(ACCOUNT_PATTERN, leg.account, re.ASCII):
        raise ValueError("account: must be an account code such as Expenses:Benefits:Medical")
    limit = max_minor_units(leg.currency)
    if max(leg.debit_minor, leg.credit_minor) > limit:
        raise ValueError(f"must be at most {limit:,} minor units of {leg.currency}")
    return leg


CorrectionLeg = Annotated[Leg, AfterValidator(_bounded_leg)]


class PostCorrection(LedgerCommand):
    """A journal entry by hand, for what no other command covers. One that
    moves money out of the fund is only proposed: other officers approve it
    (`approve-correction`) before it is posted."""

    legs: tuple[CorrectionLeg, ...] = Field(min_length=2, max_length=20)
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

    amount_minor: MinorUnits | None = Field(default=None, gt=0)
    humanitarian_exception: bool = False
    reason: LongText = ""

    @model_validator(mode="after")
    def check_reason(self) -> Self:
        if self.humanitarian_exception and len(self.reason) < 10:
            raise ValueError("a humanitarian exception needs a written reason (10+ characters)")
        return self


class RejectDisbursement(DisbursementCommand):
    """Reject a disbursement request, with the reason; its reservation is released."""

    reason: Reason


class ExpireDisbursement(DisbursementCommand):
    """Lapse a request past its expiry; its reservation is released."""

    pass


class PayDisbursement(DisbursementCommand):
    """Record payment of an approved disbursement (reference and date paid)."""

    amount_minor: MinorUnits | None = Field(default=None, gt=0)
    channel: PaymentChannel
    payment_reference: Reference
    paid_on: PastDate | None = None


class ReverseTransfer(LedgerCommand):
    """Reverse a posted transfer. A reversal that moves money out of the fund
    (e.g. of a contribution or a grant) is only proposed: other officers
    approve it (`approve-correction`) before it is posted."""

    transfer_id: UUID
    reason: Reason


class ApproveCorrection(LedgerCommand):
    """Approve a proposed correction or reversal (never your own); it is
    posted once the policy's number of approvers is reached."""

    proposal_id: UUID


class RejectCorrection(LedgerCommand):
    """Reject (or, as its proposer, withdraw) a proposed correction or reversal."""

    proposal_id: UUID
    reason: Reason


def value_day(day: date | None) -> datetime | None:
    return at_noon_utc(day) if day else None
