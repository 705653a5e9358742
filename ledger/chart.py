"""The standard chart of accounts a fund opens with, per currency.

Codes are Beancount-style paths so the export needs no renaming.
"""

from __future__ import annotations

from ledger.vocabulary import BENEFIT_ACCOUNT, AccountType

BANK = "Assets:Bank:Operating"
CONTRIBUTIONS = "Income:Contributions"
GRANTS = "Income:Grants"
CORRECTIONS = "Equity:Corrections"
OPENING = "Equity:OpeningBalances"
APPROVED = "Liabilities:Approved"

STANDARD_CHART: dict[str, AccountType] = {
    BANK: AccountType.ASSET,
    CONTRIBUTIONS: AccountType.INCOME,
    GRANTS: AccountType.INCOME,
    APPROVED: AccountType.LIABILITY,
    OPENING: AccountType.EQUITY,
    CORRECTIONS: AccountType.EQUITY,
    **{code: AccountType.EXPENSE for code in BENEFIT_ACCOUNT.values()},
}

# Accounts whose balance may never go below zero, pending reservations included
# (TigerBeetle's credits_must_not_exceed_debits).
NEVER_NEGATIVE = (BANK,)


def account_key(code: str, currency: str) -> str:
    """Accounts are per fund *and* currency: `Assets:Bank:Operating` in KES is
    not the one in USD."""
    return f"{code}@{currency}"
