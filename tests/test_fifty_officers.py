"""Fifty officers at once on PostgreSQL (5 processes x 10 threads): searches,
case commands, requests, approvals, payments and a contribution import.
No command fails because another officer was busy - money decisions wait
their turn on the fund's advisory lock - and the books balance afterwards."""

from __future__ import annotations

from uuid import UUID

import pytest

from ledger.chart import BANK
from tests.fifty_officers import MONEY, PROCESSES, counts, run_all, set_up
from tests.test_ledger_properties import reference_balances


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_fifty_officers_at_once_none_fails_and_the_books_balance(
    system, officers, settings, tmp_path
):
    plan = set_up(system, officers, settings.database_url, tmp_path)
    results = run_all(plan)

    assert [r for r in results if r["error"]] == []
    fund_officers = len(plan.fund)
    assert counts(results) == {
        "search": fund_officers + len(plan.attaches) + len(plan.registrars),
        "approve": fund_officers,
        "pay": fund_officers,
        "request": fund_officers,
        "import contributions": 1,
        "report incident": len(plan.attaches),
        "register migrant": len(plan.registrars),
    }
    assert sum(1 for r in results if r["kind"] in MONEY) == 3 * fund_officers + 1
    assert len(plan.fund) + len(plan.attaches) + len(plan.registrars) == 10 * PROCESSES

    # Every waiting request paid exactly once, the contributions all in.
    ledger = system.ledger
    paid = [ledger.disbursement(UUID(d)) for d in plan.waiting]
    assert {d.status.value for d in paid} == {"paid"}
    assert sum(d.paid_minor for d in paid) == fund_officers * 20_000_00
    book = ledger.book()
    contributed = fund_officers * 500_00
    assert book.account(BANK, "KES").posted == 5_000_000_00 - fund_officers * 20_000_00 + (
        contributed
    )
    # The new counselling requests are reserved against the bank.
    assert book.account(BANK, "KES").available == book.account(BANK, "KES").posted - (
        fund_officers * 3_000_00
    )
    # The book's balances agree with the log read independently, and balance.
    reference = reference_balances(system.store, ledger.book_id)
    for account in book.accounts.values():
        assert reference.get((account.code, account.currency), 0) == (
            account.debits_posted - account.credits_posted
        )
    assert sum(reference.values()) == 0
