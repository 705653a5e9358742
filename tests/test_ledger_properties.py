"""Random sequences of fund commands, checked after every step (Hypothesis).

Each example works on a fresh fund (its own book) in one database per backend;
the invariants are checked against the stored log, and the balances against
a small reference model that replays the log independently. The book is
snapshotted every few events and a move starts a fresh process from the
latest snapshot, so every rule is also exercised on a snapshot-loaded book.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter, defaultdict
from datetime import timedelta
from uuid import UUID, uuid4

import orjson
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
from domain.officers.commands import GrantRole
from domain.values import Role, utcnow
from ledger import commands as c
from ledger import events as e
from ledger.chart import BANK, CORRECTIONS
from ledger.corrections import money_out
from ledger.disbursement import Disbursement
from ledger.errors import MakerCheckerViolation, RequestLapsed, ValueDateRefused
from ledger.service import LedgerService
from ledger.snapshot import BookSnapshot
from ledger.vocabulary import DisbursementStatus, TransferKind
from projections.audit.authenticity import Authenticated
from tests.factories import days_ago
from tests.fund_helpers import FUND_AGE_DAYS, incident_abroad, kes, report_injury
from tests.test_encryption import insert_row

CATEGORIES = ["medical", "shelter", "legal_aid", "repatriation", "counselling"]
# Who may make each decision recorded on a disbursement or a correction.
DECIDERS = {
    e.DisbursementApprovalGiven: (Role.FUND_OFFICER,),
    e.DisbursementApproved: (Role.FUND_OFFICER,),
    e.DisbursementRejected: (Role.FUND_OFFICER,),
    e.DisbursementPaid: (Role.FUND_OFFICER,),
    e.DisbursementExpired: (Role.FUND_OFFICER, Role.SYSTEM),
    e.CorrectionProposed: (Role.FUND_OFFICER,),
    e.CorrectionApprovalGiven: (Role.FUND_OFFICER,),
    e.CorrectionApproved: (Role.FUND_OFFICER,),
    e.CorrectionRejected: (Role.FUND_OFFICER,),
}


def bank_by_value_date(store, book_id: UUID, events=None) -> list[int]:
    """The bank's running balance at the end of every value date, from the log."""
    daily: dict = defaultdict(int)
    pending: dict[UUID, tuple] = {}
    for event in store.events.get(book_id) if events is None else events:
        legs, amount = (), None
        if isinstance(event, e.TransferPosted):
            legs = event.legs
        elif isinstance(event, e.TransferReserved):
            pending[event.pending_id] = event.legs
        elif isinstance(event, e.ReservationVoided):
            del pending[event.pending_id]
        elif isinstance(event, e.ReservationPosted):
            legs, amount = pending.pop(event.pending_id), event.amount_minor
        for leg in legs:
            if leg.account == BANK:
                sign = 1 if leg.debit_minor else -1
                moved = amount if amount is not None else leg.debit_minor + leg.credit_minor
                daily[event.occurred_at.date()] += sign * moved
    running, balances = 0, []
    for day in sorted(daily):
        running += daily[day]
        balances.append(running)
    return balances


def reference_balances(store, book_id: UUID, events=None) -> dict[tuple[str, str], int]:
    """Debits minus credits per account, from the log alone (or from `events`,
    the book's events as read from it)."""
    balances: dict[tuple[str, str], int] = defaultdict(int)
    pending: dict[UUID, tuple] = {}
    for event in store.events.get(book_id) if events is None else events:
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


def snapshot_state(book) -> dict:
    """What a snapshot keeps of the book, as plain JSON."""
    return orjson.loads(orjson.dumps(BookSnapshot.take(book).state))


def run_machine(system, officers):
    migrant_id, incident_id = incident_abroad(system, officers)
    system.officers.grant_role(
        officers.admin,
        GrantRole(username="reintegrator", role="fund_officer", reason="Third fund officer"),
    )
    third = officers.reintegrator.model_copy(update={"role": Role.FUND_OFFICER})
    seen: Counter[str] = Counter()

    class FundMachine(RuleBasedStateMachine):
        requests = Bundle("requests")
        payments = Bundle("payments")
        grants = Bundle("grants")
        proposals = Bundle("proposals")

        def __init__(self):
            super().__init__()
            self.ledger = LedgerService(
                system.store, system.authz, f"F{uuid4().hex[:8]}", system.ledger.snapshots
            )
            self.ledger.open_fund(
                officers.admin,
                c.OpenFund(
                    command_id=uuid4(),
                    fund_code=self.ledger.fund_code,
                    opened_on=days_ago(FUND_AGE_DAYS),
                ),
            )
            self.last: tuple | None = None
            self.error: MsafiriError | None = None  # the last refusal
            self.refused: set[UUID] = set()
            self.days_passed = 0
            self.proposed: set[UUID] = set()
            self.reversals: set[UUID] = set()  # proposals that reverse a transfer
            self.read: dict[UUID, list] = {}  # events read so far, per aggregate
            self.read_this_step: set[UUID] = set()
            self.forged: set[int] = set()  # positions of rows inserted by SQL

        def attempt(self, method, actor, command):
            self.last = (method, actor, command)
            try:
                result = method(actor, command)
            except MsafiriError as error:
                self.error = error
                self.refused.add(command.command_id)
                seen[f"{method.__name__} refused"] += 1
                seen[f"{method.__name__} refused {type(error).__name__}"] += 1
                return None
            seen[f"{method.__name__} done"] += 1
            return result

        @initialize()
        def seed_money(self):
            self.grant(400_000)

        @rule(target=grants, shillings=st.integers(1, 300_000), back=st.integers(0, 500))
        def grant(self, shillings, back=1):
            command = c.RecordGrant(
                command_id=uuid4(),
                donor="Treasury",
                amount=kes(shillings),
                # up to 500 days back: before the fund opened is refused
                received_on=days_ago(back),
                reference="GOK-1",
            )
            result = self.attempt(self.ledger.record_grant, officers.fund, command)
            return multiple(command.command_id) if result else multiple()

        @rule(days=st.sampled_from([1, 30, 91]))
        def time_passes(self, days):
            # The sweep does not run: decisions must find the lapse themselves.
            self.days_passed += days
            seen["time passes"] += 1
            offset = timedelta(days=self.days_passed)
            self.ledger.clock = lambda: utcnow() + offset

        @rule(
            target=proposals,
            shillings=st.integers(1, 300_000),
            direction=st.sampled_from(["out", "in", "within"]),
            back=st.integers(0, 60),
        )
        def correct(self, shillings, direction, back):
            amount = shillings * 100
            other = {"out": CORRECTIONS, "in": CORRECTIONS, "within": "Expenses:Benefits:Shelter"}
            first = BANK if direction != "within" else "Expenses:Benefits:Medical"
            debit, credit = (other[direction], first) if direction != "in" else (first, CORRECTIONS)
            command = c.PostCorrection.parse(
                {
                    "command_id": uuid4(),
                    "legs": [
                        {"account": debit, "currency": "KES", "debit_minor": amount},
                        {"account": credit, "currency": "KES", "credit_minor": amount},
                    ],
                    "value_date": days_ago(back),
                    "reason": "Bank statement reconciliation.",
                }
            )
            result = self.attempt(self.ledger.post_correction, officers.fund, command)
            if result and result["status"] == "proposed":
                self.proposed.add(command.command_id)
                seen[f"correction proposed for {result['approvers_needed']} approver(s)"] += 1
                return multiple(command.command_id)
            return multiple()

        @rule(
            kind=st.sampled_from(["correction", "reversal"]),
            shillings=st.integers(1, 100_000),
            big=st.booleans(),
        )
        def money_out_by_other_officers(self, kind, shillings, big):
            """Money out of the bank, dated today - a correction, or the
            reversal of a grant just received - proposed by one officer and
            approved by others: one above the threshold needs two, and
            neither the proposer nor an officer approving twice counts."""
            shillings += 100_000 if big else 0  # the two-approver threshold
            received = c.RecordGrant(
                command_id=uuid4(),
                donor="IOM",
                amount=kes(shillings),
                received_on=days_ago(0),
                reference="IOM-2",
            )
            # So the bank can cover it (and the reversal has a grant to reverse).
            if not self.attempt(self.ledger.record_grant, officers.fund, received):
                return
            command = c.PostCorrection.parse(
                {
                    "command_id": uuid4(),
                    "legs": [
                        {"account": CORRECTIONS, "currency": "KES", "debit_minor": shillings * 100},
                        {"account": BANK, "currency": "KES", "credit_minor": shillings * 100},
                    ],
                    "value_date": days_ago(0),
                    "reason": "Bank charges.",
                }
            )
            if kind == "reversal":
                command = c.ReverseTransfer(
                    command_id=uuid4(), transfer_id=received.command_id, reason="Dup"
                )
                result = self.attempt(self.ledger.reverse, officers.fund, command)
                self.reversals.add(command.command_id)
            else:
                result = self.attempt(self.ledger.post_correction, officers.fund, command)
            if not result:
                return
            assert result["status"] == "proposed"
            self.proposed.add(command.command_id)
            needed = result["approvers_needed"]
            assert needed == (2 if big else 1)
            seen[f"{kind} proposed for {needed} approver(s)"] += 1
            # The proposer, then another officer, that one again, a third.
            for approver in (officers.fund, officers.fund2, officers.fund2, third):
                approval = c.ApproveCorrection(command_id=uuid4(), proposal_id=command.command_id)
                result = self.attempt(self.ledger.approve_correction, approver, approval)
                if result is None:
                    assert isinstance(self.error, MakerCheckerViolation), self.error
                elif result["status"] == "approved":
                    assert result["approvals"] == needed
                    seen[f"{kind} posted on approval by {needed} officer(s)"] += 1
                    return
            raise AssertionError(f"the {kind} was never posted")

        @rule(stage=st.sampled_from(["requested", "approved"]))
        def decision_after_expiry(self, stage):
            """A request (or an approval) left past its expiry, the sweep not
            run: the next decision finds the lapse, records it and is refused."""
            command = c.RequestDisbursement(
                command_id=uuid4(),
                migrant_id=migrant_id,
                incident_id=report_injury(system, officers, migrant_id),
                category="counselling",
                amount=kes(1_000),
                payee="Payee",
            )
            if not self.attempt(self.ledger.request_disbursement, officers.attache, command):
                return
            d = command.command_id
            if stage == "approved":
                approval = c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d)
                if not self.attempt(self.ledger.approve, officers.fund2, approval):
                    return
                early = c.PayDisbursement(
                    command_id=uuid4(),
                    disbursement_id=d,
                    channel="mobile_money",
                    payment_reference="MP-2",
                    paid_on=days_ago(FUND_AGE_DAYS + 10),
                )
                assert self.attempt(self.ledger.pay, officers.fund, early) is None
                assert isinstance(self.error, ValueDateRefused), self.error
                seen["back-dated payment refused"] += 1
            left = self.ledger.disbursement(d).expires_at - self.ledger.clock()
            self.time_passes(left.days + 1)
            if stage == "approved":
                payment = c.PayDisbursement(
                    command_id=uuid4(),
                    disbursement_id=d,
                    channel="mobile_money",
                    payment_reference="MP-2",
                )
                assert self.attempt(self.ledger.pay, officers.fund, payment) is None
            else:
                approval = c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d)
                assert self.attempt(self.ledger.approve, officers.fund, approval) is None
            assert isinstance(self.error, RequestLapsed), self.error
            assert self.ledger.disbursement(d).status is DisbursementStatus.EXPIRED

        @rule(p=proposals, who=st.sampled_from(["fund", "fund2", "third"]))
        def approve_correction(self, p, who):
            actor = third if who == "third" else getattr(officers, who)
            result = self.attempt(
                self.ledger.approve_correction,
                actor,
                c.ApproveCorrection(command_id=uuid4(), proposal_id=p),
            )
            if result and result["status"] == "approved":
                what = "reversal" if p in self.reversals else "correction"
                seen[f"{what} posted on approval by {result['approvals']} officer(s)"] += 1

        @rule(p=proposals)
        def reject_correction(self, p):
            self.attempt(
                self.ledger.reject_correction,
                officers.fund2,
                c.RejectCorrection(command_id=uuid4(), proposal_id=p, reason="Not on statement"),
            )

        @rule(target=proposals, transfer=consumes(grants))
        def reverse_grant(self, transfer):
            command = c.ReverseTransfer(command_id=uuid4(), transfer_id=transfer, reason="Dup")
            result = self.attempt(self.ledger.reverse, officers.fund, command)
            if result and result.get("status") == "proposed":
                self.proposed.add(command.command_id)
                self.reversals.add(command.command_id)
                seen[f"reversal proposed for {result['approvers_needed']} approver(s)"] += 1
                return multiple(command.command_id)
            return multiple()

        @rule(
            target=requests,
            # up to 600,000: above every cap of these benefits (refused at once)
            shillings=st.one_of(st.integers(1, 120_000), st.integers(120_001, 600_000)),
            category=st.sampled_from(CATEGORIES),
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
            if result and not result["reserved"]:
                seen["ineligible request kept, nothing reserved"] += 1
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
            result = self.attempt(self.ledger.approve, actor, command)
            if who == "attache":  # a labour attaché decides nothing
                assert result is None and isinstance(self.error, NotAuthorised)
            if result:  # decided only while the request was in force
                assert self.ledger.clock() < self.ledger.disbursement(d).expires_at

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

        @rule(target=payments, shillings=st.integers(1, 20_000))
        def request_approve_and_pay(self, shillings):
            """The whole happy path on a fresh incident (so 'first payment'
            holds), among the random moves around it."""
            command = c.RequestDisbursement(
                command_id=uuid4(),
                migrant_id=migrant_id,
                incident_id=report_injury(system, officers, migrant_id),
                category="counselling",
                amount=kes(shillings),
                payee="Payee",
            )
            if not self.attempt(self.ledger.request_disbursement, officers.attache, command):
                return multiple()
            d = command.command_id
            self.attempt(
                self.ledger.approve,
                officers.fund2,
                c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d),
            )
            result = self.attempt(
                self.ledger.pay,
                officers.fund,
                c.PayDisbursement(
                    command_id=uuid4(),
                    disbursement_id=d,
                    channel="bank_transfer",
                    payment_reference="EFT-1",
                ),
            )
            return multiple(UUID(result["transfer_id"])) if result else multiple()

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

        @rule(
            target=payments,
            d=requests,
            part=st.integers(1, 100),
            back=st.one_of(st.none(), st.just(0), st.integers(1, 500)),
        )
        def pay(self, d, part, back):
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
                    # back-dated (before the approval, before the fund opened)
                    paid_on=None if back is None else days_ago(back),
                ),
            )
            if result:  # paid only while the request was in force (the ledger's clock)
                assert self.ledger.clock() < disbursement.expires_at
            elif back and isinstance(self.error, ValueDateRefused):
                seen["back-dated payment refused"] += 1
            return multiple(UUID(result["transfer_id"])) if result else multiple()

        @rule(transfer=consumes(payments))
        def reverse(self, transfer):
            self.attempt(
                self.ledger.reverse,
                officers.fund,
                c.ReverseTransfer(command_id=uuid4(), transfer_id=transfer, reason="Bounced"),
            )

        @rule(copy=st.booleans())
        def row_inserted_by_sql(self, copy):
            """An attacker with the database but not the key appends a row: random
            bytes, or a genuine sealed state of the fund copied under a new id."""
            book = self.ledger.book()
            if copy:
                genuine = list(system.store.recorder.select_events(book.id, desc=True, limit=1))
                state, topic = genuine[0].state, genuine[0].topic
            else:
                state, topic = os.urandom(64), "ledger.events:GrantReceived"
            position = insert_row(system, uuid4(), 1, topic, state)
            self.forged.add(position)
            seen["row inserted by SQL"] += 1

        @invariant()
        def every_guarantee_holds(self):
            """After every step. Each aggregate's new events are read once
            per step, however many checks look at them."""
            self.read_this_step = set()
            self.every_row_inserted_by_sql_is_named()
            self.books_balance_and_bank_stays_covered()
            self.disbursements_obey_their_limits_and_maker_checker()
            self.bank_never_negative_by_value_date()
            self.no_payment_without_its_approvals()
            self.money_out_only_with_approvals()
            self.every_decision_by_an_officer_allowed_to_make_it()

        def every_row_inserted_by_sql_is_named(self):
            if not self.forged:
                return
            # From this history's first forged row on (the database holds
            # every earlier history too).
            after = min(self.forged) - 1
            rows = Authenticated(system.audit.rows(after=after), system.audit.authenticate)
            for _ in rows:
                pass
            named = {finding.position for finding in rows.findings}
            assert self.forged <= named, f"forged rows not named: {self.forged - named}"

        @rule()
        def fresh_process(self):
            """Another process of the fund starts: its book comes from the
            latest snapshot (taken every few events here) and the events after
            it, and every later move of this history runs on that book."""
            self.read_this_step = set()  # read what the last step stored
            clock = self.ledger.clock
            self.ledger = LedgerService(
                system.store, system.authz, self.ledger.fund_code, system.ledger.snapshots
            )
            self.ledger.clock = clock
            snapshots = system.ledger.snapshots.get(self.ledger.book_id, desc=True, limit=1)
            latest = next(iter(snapshots), None)
            book = self.ledger.book()
            replayed = None  # the whole book, replayed from its stored events
            for event in self.events_of(self.ledger.book_id):
                replayed = event.mutate(replayed)
            assert snapshot_state(book) == snapshot_state(replayed)
            if latest is not None:
                seen["fresh process from a snapshot"] += 1

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

        def books_balance_and_bank_stays_covered(self):
            book = self.ledger.book()
            debits = sum(a.debits_posted for a in book.accounts.values())
            credits = sum(a.credits_posted for a in book.accounts.values())
            assert debits == credits
            assert sum(a.debits_pending for a in book.accounts.values()) == sum(
                a.credits_pending for a in book.accounts.values()
            )
            assert book.account(BANK, "KES").available >= 0
            reference = reference_balances(
                system.store, self.ledger.book_id, self.events_of(self.ledger.book_id)
            )
            for account in book.accounts.values():
                key = (account.code, account.currency)
                assert reference.get(key, 0) == account.debits_posted - account.credits_posted

        def disbursements_obey_their_limits_and_maker_checker(self):
            for request_id in self.ledger_requests():
                d: Disbursement | None = None
                for event in self.events_of(request_id):
                    d = event.mutate(d)
                assert d is not None
                assert d.paid_minor <= d.approved_minor <= d.requested_minor
                approvers = [officer for officer, _, _ in d.approvals]
                assert d.requested_by not in approvers
                assert len(set(approvers)) == len(approvers)

        def bank_never_negative_by_value_date(self):
            balances = bank_by_value_date(
                system.store, self.ledger.book_id, self.events_of(self.ledger.book_id)
            )
            assert all(balance >= 0 for balance in balances), balances

        def no_payment_without_its_approvals(self):
            for request_id in self.ledger_requests():
                events = self.events_of(request_id)
                requested = events[0]
                approvers = [
                    ev.actor_id for ev in events if isinstance(ev, e.DisbursementApprovalGiven)
                ]
                for i, event in enumerate(events):
                    if isinstance(event, e.DisbursementPaid):
                        before = events[:i]
                        assert any(isinstance(ev, e.DisbursementApproved) for ev in before)
                        given = [ev for ev in before if isinstance(ev, e.DisbursementApprovalGiven)]
                        assert len({ev.actor_id for ev in given}) >= given[-1].approvers_needed
                assert requested.requested_by not in approvers

        def money_out_only_with_approvals(self):
            book = self.ledger.book()
            types = {a.code: a.type for a in book.accounts.values()}
            for event in self.events_of(self.ledger.book_id):
                if not isinstance(event, e.TransferPosted) or event.kind not in (
                    TransferKind.CORRECTION,
                    TransferKind.REVERSAL,
                ):
                    continue
                if event.disbursement_id is not None or not money_out(event.legs, types):
                    continue  # a bounced payment coming back, or nothing leaving
                proposal = self.ledger.correction(event.transfer_id)
                assert proposal.status == "approved"
                assert proposal.proposed_by not in proposal.approvals
                assert len(set(proposal.approvals)) >= proposal.approvers_needed
                assert event.actor_id in proposal.approvals

        def every_decision_by_an_officer_allowed_to_make_it(self):
            ids = list(self.ledger_requests()) + sorted(self.proposed)
            for aggregate_id in ids:
                for event in self.events_of(aggregate_id):
                    allowed = DECIDERS.get(type(event))
                    if allowed is not None:
                        assert event.actor_role in allowed, event
            book = self.ledger.book()
            for d in book.unreserved:  # ineligible requests hold no reservation
                assert not any(p.disbursement_id == d for p in book.pendings.values())

        def events_of(self, aggregate_id: UUID) -> list:
            """An aggregate's stored events: the log is append-only, so after
            every step only the events stored since the last read are read."""
            events = self.read.setdefault(aggregate_id, [])
            if aggregate_id not in self.read_this_step:
                after = events[-1].originator_version if events else None
                events.extend(system.store.events.get(aggregate_id, gt=after))
                self.read_this_step.add(aggregate_id)
            return events

        def ledger_requests(self):
            return [
                ev.disbursement_id
                for ev in self.events_of(self.ledger.book_id)
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


def test_random_fund_histories_keep_every_guarantee(system, officers, monkeypatch):
    # A snapshot every few book events, so fresh processes start from one.
    monkeypatch.setattr("ledger.service.SNAPSHOT_EVERY", 5)
    seen = run_machine(system, officers)
    if os.environ.get("MSAFIRI_HYPOTHESIS_RANDOM"):
        # Exploring: the guarantees were checked after every step above; a
        # random draw may by chance never reach a payment, which is no defect.
        print(seen)
        return
    # The fixed histories really go through the whole life of a disbursement.
    for step in (
        "request_disbursement done",
        "request_disbursement refused",
        "approve done",
        "pay done",
        "pay refused",
        "approve refused",
        "post_correction done",
        "approve_correction done",
        "approve_correction refused",
        "row inserted by SQL",
        # issue 12's moves, each reached by the fixed histories:
        "time passes",
        "approve refused RequestLapsed",  # time past expiry, found by a decision
        "pay refused RequestLapsed",
        "correction proposed for 1 approver(s)",
        "correction proposed for 2 approver(s)",
        "correction posted on approval by 1 officer(s)",
        "correction posted on approval by 2 officer(s)",
        "reversal proposed for 1 approver(s)",
        "reversal proposed for 2 approver(s)",
        "reversal posted on approval by 1 officer(s)",
        "reversal posted on approval by 2 officer(s)",
        "approve_correction refused MakerCheckerViolation",  # the proposer, or twice
        "reverse done",  # a payment reversed (money back in: no approval)
        "back-dated payment refused",
        "pay refused ValueDateRefused",
        "post_correction refused OverdrawnByValueDate",
        "request_disbursement refused AboveCap",
        "ineligible request kept, nothing reserved",
        "approve refused NotAuthorised",
        "fresh process from a snapshot",
    ):
        assert seen[step] > 0, f"{step} never happened: {dict(seen)}"
