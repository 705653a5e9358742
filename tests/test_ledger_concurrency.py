"""Several processes approve and pay the same requests at the same time, on
PostgreSQL: exactly one outcome each, never a double payment, and the books
still balance."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from uuid import UUID, uuid4

import pytest

from domain.errors import MsafiriError
from domain.model import Actor
from ledger import commands as c
from ledger import events as e
from ledger.chart import BANK
from ledger.vocabulary import BenefitCategory
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests.fund_helpers import incident_abroad, open_fund, request
from tests.test_ledger_properties import reference_balances

WORKERS = 4


def _work(url: str, actor_ids: list[str], requests: list[str], out) -> None:
    try:
        out.put(_race(url, actor_ids, requests))
    except BaseException as error:
        # Report instead of dying silently, so the test fails at once with
        # the reason rather than after the queue's timeout.
        out.put({"error": f"{type(error).__name__}: {error}"})
        raise


def _race(url: str, actor_ids: list[str], requests: list[str]) -> dict[str, int]:
    system = build_system(Settings(database_url=url))
    outcomes: Counter[str] = Counter()
    try:
        for index, request_id in enumerate(requests):
            # Alternate officers so some approvals race across officers, too.
            officer = UUID(actor_ids[index % len(actor_ids)])
            actor = Actor(officer_id=officer, role="fund_officer")
            d = UUID(request_id)
            try:
                system.ledger.approve(
                    actor, c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d)
                )
                outcomes["approved"] += 1
            except MsafiriError:
                outcomes["approve refused"] += 1
            try:
                system.ledger.pay(
                    actor,
                    c.PayDisbursement(
                        command_id=uuid4(),
                        disbursement_id=d,
                        channel="bank_transfer",
                        payment_reference=f"EFT-{index}",
                    ),
                )
                outcomes["paid"] += 1
            except MsafiriError:
                outcomes["pay refused"] += 1
    finally:
        system.close()
    return dict(outcomes)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_racing_processes_pay_each_request_exactly_once(system, officers, settings):
    open_fund(system, officers, grant_shillings=2_000_000)
    migrant_id, incident_id = incident_abroad(system, officers)
    # One request per benefit, so each is eligible on its own.
    requests = [
        str(request(system, officers.attache, migrant_id, incident_id, 1_000 + i, category=cat))
        for i, cat in enumerate(BenefitCategory)
    ]
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    ids = [str(officers.fund.officer_id), str(officers.fund2.officer_id)]
    workers = [
        context.Process(target=_work, args=(settings.database_url, ids, requests, out))
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=300) for _ in workers]
    assert [r["error"] for r in results if "error" in r] == []
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    total = sum((Counter(r) for r in results), Counter())
    REQUESTS = len(requests)
    assert total["paid"] == REQUESTS and total["approved"] == REQUESTS
    assert total["pay refused"] == total["approve refused"] == REQUESTS * (WORKERS - 1)

    paid_events = Counter(
        event.originator_id
        for request_id in requests
        for event in system.store.events.get(UUID(request_id))
        if isinstance(event, e.DisbursementPaid)
    )
    assert set(paid_events.values()) == {1} and len(paid_events) == REQUESTS
    book = system.ledger.book()
    paid = sum(system.ledger.disbursement(UUID(r)).paid_minor for r in requests)
    assert book.account(BANK, "KES").posted == 200_000_000 - paid
    reference = reference_balances(system.store, system.ledger.book_id)
    for account in book.accounts.values():
        assert reference.get((account.code, account.currency), 0) == (
            account.debits_posted - account.credits_posted
        )
