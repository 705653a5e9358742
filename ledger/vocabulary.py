"""The words of the Migrant Welfare Fund: account types, benefits, channels."""

from __future__ import annotations

from enum import StrEnum

from domain.incidents.vocabulary import AssistanceKind


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


# Assets and expenses grow with debits; the others with credits.
DEBIT_NORMAL = (AccountType.ASSET, AccountType.EXPENSE)


class BenefitCategory(StrEnum):
    """What the fund pays for, each booked to its own expense account."""

    REPATRIATION = "repatriation"
    REMAINS_REPATRIATION = "remains_repatriation"
    MEDICAL = "medical"
    LEGAL_AID = "legal_aid"
    SHELTER = "shelter"
    COUNSELLING = "counselling"
    DEATH_BENEFIT = "death_benefit"
    DISABILITY = "disability"
    REINTEGRATION_GRANT = "reintegration_grant"


BENEFIT_ACCOUNT = {
    BenefitCategory.REPATRIATION: "Expenses:Benefits:Repatriation",
    BenefitCategory.REMAINS_REPATRIATION: "Expenses:Benefits:RemainsRepatriation",
    BenefitCategory.MEDICAL: "Expenses:Benefits:Medical",
    BenefitCategory.LEGAL_AID: "Expenses:Benefits:LegalAid",
    BenefitCategory.SHELTER: "Expenses:Benefits:Shelter",
    BenefitCategory.COUNSELLING: "Expenses:Benefits:Counselling",
    BenefitCategory.DEATH_BENEFIT: "Expenses:Benefits:DeathBenefit",
    BenefitCategory.DISABILITY: "Expenses:Benefits:Disability",
    BenefitCategory.REINTEGRATION_GRANT: "Expenses:Benefits:ReintegrationGrant",
}

# How an attaché's assistance request on an incident maps to a fund benefit.
BENEFIT_FOR_ASSISTANCE = {
    AssistanceKind.SHELTER: BenefitCategory.SHELTER,
    AssistanceKind.LEGAL_AID: BenefitCategory.LEGAL_AID,
    AssistanceKind.MEDICAL_CARE: BenefitCategory.MEDICAL,
    AssistanceKind.COUNSELLING: BenefitCategory.COUNSELLING,
    AssistanceKind.REPATRIATION: BenefitCategory.REPATRIATION,
    AssistanceKind.REPATRIATION_OF_REMAINS: BenefitCategory.REMAINS_REPATRIATION,
}


class PaymentChannel(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    MOBILE_MONEY = "mobile_money"
    CASH_AT_AIRPORT = "cash_at_airport"


class DisbursementStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    EXPIRED = "expired"


OPEN_DISBURSEMENT = (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED)


class TransferKind(StrEnum):
    CONTRIBUTION = "contribution"
    GRANT = "grant"
    CORRECTION = "correction"
    OPENING_BALANCE = "opening_balance"
    RESERVATION = "reservation"  # pending: request -> bank
    APPROVAL = "approval"  # expense recognised, owed to the payee
    PAYMENT = "payment"
    RELEASE = "release"  # approved but not (fully) paid: expense undone
    REVERSAL = "reversal"
