"""Random sequences of fund commands, checked after every step (Hypothesis).

Each example works on a fresh fund (its own book) in one database per backend;
the invariants are checked against the stored log, and the balances against
a small reference model that replays the log independently.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter, defaultdict
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from domain.errors import MsafiriError, NotAuthorised
from ledger import commands as c
from ledger import events as e
from ledger.chart import BANK
from ledger.disbursement import Disbursement
from ledger.service import LedgerService
from tests.factories import days_ago
from tests.fund_helpers import incident_abroad, kes

CATEGORIES = ["medical", "shelter", "legal_aid", "repatriation", "counselling"]


def reference_balances(store, book_id: UUID) -> dict[tuple[str, str], int]:
    """Debits minus credits per account, from the log alone."""
    balances: dict[tuple[str, str], int] = defaultdict(int)
    pending: dict[UUID, tuple] = {}
    for event in store.events.get(book_id):
        if isinstance(event, e.TransferPosted):
            for leg in event.legs:
                balances[(leg.account, leg.currency)] += leg.debit_minor - leg.credit_minor
        elif isinstance(event, e.TransferReserved):
            pending[event.pending_id] = event.legs
        elif isinstance(event, e.ReservationVoided):
            del pending[event.pending_id]
        elif isinstance(event, e.ReservationPosted):
            for leg in pending.pop(event.pending_id):
                sign = 1 if leg.debit_minor else -1
                balances[(leg.account, leg.currency)] += sign * event.amount_minor
    return balances


def run_machine(system, officers):
    migrant_id, incident_id = incident_abroad(system, officers)
    seen: Counter[str] = Counter()

    class FundMachine(RuleBasedStateMachine):
        requests = Bundle("requests")
        payments = Bundle("payments")

        def __init__(self):
            super().__init__()
            self.ledger = LedgerService(system.store, system.authz, f"F{uuid4().hex[:8]}")
            self.ledger.open_fund(
                officers.admin, c.OpenFund(command_id=uuid4(), fund_code=self.ledger.fund_code)
            )
            self.last: tuple | None = None
            self.refused: set[UUID] = set()

        def attempt(self, method, actor, command):
            self.last = (method, actor, command)
            try:
                result = method(actor, command)
            except MsafiriError:
                self.refused.add(command.command_id)
                seen[f"{method.__name__} refused"] += 1
                return None
            seen[f"{method.__name__} done"] += 1
            return result

        @initialize()
        def seed_money(self):
            self.grant(400_000)

        @rule(shillings=st.integers(1, 300_000))
        def grant(self, shillings):
            self.attempt(
                self.ledger.record_grant,
                officers.fund,
                c.RecordGrant(
                    command_id=uuid4(),
                    donor="Treasury",
                    amount=kes(shillings),
                    received_on=days_ago(1),
                    reference="GOK-1",
                ),
            )

        @rule(
            target=requests, shillings=st.integers(1, 120_000), category=st.sampled_from(CATEGORIES)
        )
        def request(self, shillings, category):
            command = c.RequestDisbursement(
                command_id=uuid4(),
                migrant_id=migrant_id,
                incident_id=incident_id,
                category=category,
                amount=kes(shillings),
                payee="Payee",
            )
            result = self.attempt(self.ledger.request_disbursement, officers.attache, command)
            return multiple(command.command_id) if result else multiple()

        @rule(
            d=requests, who=st.sampled_from(["fund", "fund2", "attache"]), exception=st.booleans()
        )
        def approve(self, d, who, exception):
            actor = getattr(officers, who)
            command = c.ApproveDisbursement(
                command_id=uuid4(),
                disbursement_id=d,
                humanitarian_exception=exception,
                reason="Stranded; board guidance." if exception else "",
            )
            try:
                self.attempt(self.ledger.approve, actor, command)
            except NotAuthorised:
                assert who == "attache"

        @rule(d=requests)
        def approve_by_two(self, d):
            for actor in (officers.fund, officers.fund2):
                self.attempt(
                    self.ledger.approve,
                    actor,
                    c.ApproveDisbursement(
                        command_id=uuid4(),
                        disbursement_id=d,
                        humanitarian_exception=True,
                        reason="Stranded; board guidance.",
                    ),
                )

        @rule(d=requests)
        def reject(self, d):
            self.attempt(
                self.ledger.reject,
                officers.fund2,
                c.RejectDisbursement(command_id=uuid4(), disbursement_id=d, reason="Not needed"),
            )

        @rule(d=requests)
        def expire(self, d):
            disbursement = self.ledger.disbursement(d)
            command = c.ExpireDisbursement(command_id=uuid4(), disbursement_id=d)
            self.last = None
            with contextlib.suppress(MsafiriError):
                self.ledger.expire(officers.fund, command, now=disbursement.expires_at)

        @rule(target=payments, d=requests, part=st.integers(1, 100))
        def pay(self, d, part):
            disbursement = self.ledger.disbursement(d)
            amount = max(1, disbursement.approved_minor * part // 100)
            result = self.attempt(
                self.ledger.pay,
                officers.fund,
                c.PayDisbursement(
                    command_id=uuid4(),
                    disbursement_id=d,
                    amount_minor=amount,
                    channel="mobile_money",
                    payment_reference="MP-1",
                ),
            )
            return multiple(UUID(result["transfer_id"])) if result else multiple()

        @rule(transfer=consumes(payments))
        def reverse(self, transfer):
            self.attempt(
                self.ledger.reverse,
                officers.fund,
                c.ReverseTransfer(command_id=uuid4(), transfer_id=transfer, reason="Bounced"),
            )

        @rule()
        def retry_last(self):
            if self.last is None:
                return
            method, actor, command = self.last
            before = self.ledger.book().version
            try:
                method(actor, command)
                assert command.command_id not in self.refused
            except MsafiriError:
                assert command.command_id in self.refused
            assert self.ledger.book().version == before  # a retry never moves money

        @invariant()
        def books_balance_and_bank_stays_covered(self):
            book = self.ledger.book()
            debits = sum(a.debits_posted for a in book.accounts.values())
            credits = sum(a.credits_posted for a in book.accounts.values())
            assert debits == credits
            assert sum(a.debits_pending for a in book.accounts.values()) == sum(
                a.credits_pending for a in book.accounts.values()
            )
            assert book.account(BANK, "KES").available >= 0
            reference = reference_balances(system.store, self.ledger.book_id)
            for account in book.accounts.values():
                key = (account.code, account.currency)
                assert reference.get(key, 0) == account.debits_posted - account.credits_posted

        @invariant()
        def disbursements_obey_their_limits_and_maker_checker(self):
            for request_id in self.ledger_requests():
                d: Disbursement = self.ledger.disbursement(request_id)
                assert d.paid_minor <= d.approved_minor <= d.requested_minor
                approvers = [officer for officer, _, _ in d.approvals]
                assert d.requested_by not in approvers
                assert len(set(approvers)) == len(approvers)

        def ledger_requests(self):
            return [
                ev.disbursement_id
                for ev in system.store.events.get(self.ledger.book_id)
                if isinstance(ev, e.TransferReserved) and ev.disbursement_id
            ]

    FundMachine.TestCase.settings = settings(
        max_examples=40,
        # Deterministic by default: the same histories on every run, so CI is
        # repeatable; MSAFIRI_HYPOTHESIS_RANDOM=1 explores new ones.
        derandomize=not os.environ.get("MSAFIRI_HYPOTHESIS_RANDOM"),
        database=None,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    FundMachine.TestCase().runTest()
    return seen


def test_random_fund_histories_keep_every_guarantee(system, officers):
    seen = run_machine(system, officers)
    if os.environ.get("MSAFIRI_HYPOTHESIS_RANDOM"):
        # Exploring: the guarantees were checked after every step above; a
        # random draw may by chance never reach a payment, which is no defect.
        print(seen)
        return
    # The fixed histories really go through the whole life of a disbursement.
    for step in ("request_disbursement done", "approve done", "pay done", "approve refused"):
        assert seen[step] > 0, seen
