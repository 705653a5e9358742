"""The fund's books: two-phase disbursements, maker-checker, idempotency,
reversals and the case <-> fund process - on SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import InvalidCommand, NotAuthorised
from domain.officers.commands import GrantRole
from domain.values import Role
from ledger import commands as c
from ledger.chart import APPROVED, BANK, CONTRIBUTIONS
from ledger.errors import CommandIdReused, InsufficientFunds, LedgerRefusal, MakerCheckerViolation
from ledger.vocabulary import AccountType, DisbursementStatus
from tests.factories import days_ago, today
from tests.fund_helpers import (
    approve,
    bank,
    incident_abroad,
    kes,
    open_fund,
    pay,
    request,
    request_assistance,
)


@pytest.fixture
def fund(system, officers):
    open_fund(system, officers, grant_shillings=1_000_000)
    return system


def account(system, code):
    return system.ledger.book().account(code, "KES")


def events_count(system) -> int:
    return system.store.recorder.max_notification_id() or 0


def test_opening_a_fund_opens_the_chart_and_adopts_a_policy(system, officers):
    open_fund(system, officers, grant_shillings=0)
    book = system.ledger.book()
    codes = {a.code for a in book.accounts.values()}
    assert {BANK, CONTRIBUTIONS, APPROVED, "Expenses:Benefits:DeathBenefit"} <= codes
    assert book.policy.version == 1 and book.policy.currency == "KES"


def test_request_reserves_approve_and_pay_post(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 50_000)
    assert (bank(fund).posted, bank(fund).available) == (100_000_000, 95_000_000)
    assert approve(fund, officers.fund, d)["status"] == "approved"
    assert account(fund, APPROVED).posted == 5_000_000
    assert bank(fund).available == 95_000_000  # still reserved, now as payable
    pay(fund, officers.fund, d, amount_minor=4_000_000)
    assert (bank(fund).posted, bank(fund).available) == (96_000_000, 96_000_000)
    assert account(fund, APPROVED).posted == 0  # the unpaid 10,000 was released
    assert account(fund, "Expenses:Benefits:Medical").posted == 4_000_000
    disbursement = fund.ledger.disbursement(d)
    assert disbursement.paid_minor <= disbursement.approved_minor <= disbursement.requested_minor


def test_requester_never_approves_and_big_amounts_need_two_approvers(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.fund, migrant_id, incident_id, 150_000)  # above 100,000
    with pytest.raises(MakerCheckerViolation):
        approve(fund, officers.fund, d)
    assert approve(fund, officers.fund2, d)["status"] == "requested"
    with pytest.raises(MakerCheckerViolation):
        approve(fund, officers.fund2, d)  # the same officer twice
    assert fund.ledger.disbursement(d).status is DisbursementStatus.REQUESTED


def test_failed_eligibility_needs_a_humanitarian_exception_by_two(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    request(fund, officers.attache, migrant_id, incident_id, 20_000, category="medical")
    # A second open request of the same benefit for the same incident fails
    # eligibility ("first payment"): kept on record, reserving nothing.
    d = request(fund, officers.attache, migrant_id, incident_id, 60_000, category="medical")
    assert bank(fund).available == 98_000_000
    with pytest.raises(LedgerRefusal, match="humanitarian exception"):
        approve(fund, officers.fund, d)
    with pytest.raises(InvalidCommand):
        c.ApproveDisbursement.parse(
            {"command_id": uuid4(), "disbursement_id": d, "humanitarian_exception": True}
        )
    reason = "Stranded after surgery; board guidance on destitute workers."
    first = approve(fund, officers.fund, d, humanitarian_exception=True, reason=reason)
    assert first["status"] == "requested" and first["approvers_needed"] == 2
    assert bank(fund).available == 98_000_000
    second = approve(fund, officers.fund2, d, humanitarian_exception=True, reason=reason)
    assert second["status"] == "approved"
    assert bank(fund).available == 92_000_000  # reserved when approved


def test_roles_are_enforced_in_the_service_and_nothing_is_stored(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 10_000)
    before = events_count(fund)
    for actor in (officers.attache, officers.registrar, officers.auditor):
        with pytest.raises(NotAuthorised):
            approve(fund, actor, d)
    assert events_count(fund) == before


def reserve_900_000(fund, officers, migrant_id, incident_id) -> None:
    """Three requests within their caps that reserve 900,000 of the 1,000,000."""
    for shillings, category in (
        (450_000, "remains_repatriation"),
        (250_000, "medical"),
        (200_000, "death_benefit"),
    ):
        request(fund, officers.attache, migrant_id, incident_id, shillings, category=category)


def test_bank_never_goes_below_zero_with_reservations(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    reserve_900_000(fund, officers, migrant_id, incident_id)
    before = events_count(fund)
    with pytest.raises(InsufficientFunds, match="available"):
        request(fund, officers.attache, migrant_id, incident_id, 140_000, category="repatriation")
    assert bank(fund).available == 10_000_000
    # Only the refusal receipt was stored; no money moved.
    assert events_count(fund) == before + 1


def test_same_command_id_returns_the_first_result_and_never_pays_twice(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 20_000)
    approve(fund, officers.fund, d)
    command = c.PayDisbursement(
        command_id=uuid4(), disbursement_id=d, channel="mobile_money", payment_reference="MP-77"
    )
    first = fund.ledger.pay(officers.fund, command)
    again = fund.ledger.pay(officers.fund, command)
    assert first == again
    assert bank(fund).posted == 98_000_000
    changed = command.model_copy(update={"payment_reference": "MP-78"})
    with pytest.raises(CommandIdReused):
        fund.ledger.pay(officers.fund, changed)


def test_a_refused_command_id_stays_refused(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    reserve_900_000(fund, officers, migrant_id, incident_id)
    command = c.RequestDisbursement(
        command_id=uuid4(),
        migrant_id=migrant_id,
        incident_id=incident_id,
        category="repatriation",
        amount=kes(140_000),
        payee="Kenya Airways",
    )
    with pytest.raises(InsufficientFunds):
        fund.ledger.request_disbursement(officers.attache, command)
    fund.ledger.record_grant(
        officers.fund,
        c.RecordGrant(
            command_id=uuid4(),
            donor="IOM",
            amount=kes(5_000_000),
            received_on=days_ago(1),
            reference="IOM-1",
        ),
    )
    with pytest.raises(InsufficientFunds):
        fund.ledger.request_disbursement(officers.attache, command)
    assert not fund.store.exists(command.command_id)


def test_reject_and_expire_release_the_reservation_once(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d1 = request(fund, officers.attache, migrant_id, incident_id, 30_000, category="shelter")
    fund.ledger.reject(
        officers.fund,
        c.RejectDisbursement(command_id=uuid4(), disbursement_id=d1, reason="Employer paid."),
    )
    with pytest.raises(LedgerRefusal, match="rejected"):
        approve(fund, officers.fund, d1)
    d2 = request(fund, officers.attache, migrant_id, incident_id, 40_000, category="legal_aid")
    approve(fund, officers.fund, d2)
    expire = c.ExpireDisbursement(command_id=uuid4(), disbursement_id=d2)
    with pytest.raises(LedgerRefusal, match="lapse"):
        fund.ledger.expire(officers.fund, expire)
    later = fund.ledger.disbursement(d2).expires_at
    fund.ledger.expire(officers.fund, expire.model_copy(update={"command_id": uuid4()}), now=later)
    assert bank(fund).available == bank(fund).posted == 100_000_000
    assert account(fund, "Expenses:Benefits:LegalAid").posted == 0
    assert account(fund, APPROVED).posted == 0


def test_reversals_correct_history_without_editing_it(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    contribution = c.RecordContribution(
        command_id=uuid4(),
        migrant_id=migrant_id,
        membership_number="MWF-000042",
        amount=kes(3_000),
        received_on=days_ago(300),
        reference="NEA-1",
    )
    fund.ledger.record_contribution(officers.fund, contribution)
    assert account(fund, CONTRIBUTIONS).posted == 300_000
    reverse = c.ReverseTransfer(
        command_id=uuid4(), transfer_id=contribution.command_id, reason="Posted twice."
    )
    proposed = fund.ledger.reverse(officers.fund, reverse)
    # Money back out of the bank: proposed, posted once another officer approves.
    assert proposed["status"] == "proposed" and account(fund, CONTRIBUTIONS).posted == 300_000
    fund.ledger.approve_correction(
        officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=reverse.command_id)
    )
    assert account(fund, CONTRIBUTIONS).posted == 0
    with pytest.raises(LedgerRefusal, match="already reversed"):
        fund.ledger.reverse(officers.fund, reverse.model_copy(update={"command_id": uuid4()}))
    # A bounced payment: reversed, the money is owed again, then paid anew.
    d = request(fund, officers.attache, migrant_id, incident_id, 10_000)
    approve(fund, officers.fund, d)
    paid = pay(fund, officers.fund, d)
    fund.ledger.reverse(
        officers.fund,
        c.ReverseTransfer(command_id=uuid4(), transfer_id=paid["transfer_id"], reason="Bounced."),
    )
    assert fund.ledger.disbursement(d).status is DisbursementStatus.APPROVED
    assert bank(fund).posted == 100_000_000 and bank(fund).available == 99_000_000
    pay(fund, officers.fund, d, payment_reference="EFT-0002")
    assert bank(fund).posted == bank(fund).available == 99_000_000


def test_contributions_need_the_members_membership(fund, officers):
    migrant_id, _ = incident_abroad(fund, officers)
    with pytest.raises(LedgerRefusal, match="no welfare-fund membership"):
        fund.ledger.record_contribution(
            officers.fund,
            c.RecordContribution(
                command_id=uuid4(),
                migrant_id=migrant_id,
                membership_number="MWF-999999",
                amount=kes(3_000),
                received_on=days_ago(10),
                reference="NEA-2",
            ),
        )


def test_a_transfer_with_legs_in_two_currencies_is_refused(system, officers):
    system.ledger.open_fund(
        officers.admin, c.OpenFund(command_id=uuid4(), currencies=("KES", "USD"))
    )
    legs = [
        {"account": BANK, "currency": "KES", "debit_minor": 100},
        {"account": "Equity:Corrections", "currency": "USD", "credit_minor": 100},
    ]
    command = c.PostCorrection.parse(
        {"command_id": uuid4(), "legs": legs, "value_date": today(), "reason": "test"}
    )
    with pytest.raises(LedgerRefusal, match="two currencies"):
        system.ledger.post_correction(officers.fund, command)


def test_assistance_request_flows_to_the_fund_and_payment_back_to_the_case(fund, officers):
    _, incident_id = incident_abroad(fund, officers)
    request_id = request_assistance(fund, officers, incident_id, "medical_care", 45_000)
    assert fund.fund_process.run_once() == 1
    assert fund.fund_process.run_once() == 0  # exactly once: nothing left to do
    d = fund.ledger.disbursement(request_id)
    assert d.requested_by == officers.attache.officer_id and d.incident_id == incident_id
    # The attaché who asked, later also a fund officer, still may not approve it.
    fund.officers.grant_role(
        officers.admin,
        GrantRole(username="attache", role="fund_officer", reason="Acting fund officer"),
    )
    as_fund_officer = officers.attache.model_copy(update={"role": Role.FUND_OFFICER})
    with pytest.raises(MakerCheckerViolation):
        approve(fund, as_fund_officer, request_id)
    approve(fund, officers.fund, request_id)
    pay(fund, officers.fund, request_id, payment_reference="EFT-9")
    assert fund.fund_process.run_once() == 1
    incident = fund.incidents.get(incident_id)
    assert incident.assistance[request_id] == "paid"
    assert fund.fund_process.lag() == 0


def test_refused_assistance_is_written_back_as_declined(system, officers):
    open_fund(system, officers, grant_shillings=1_000)
    _, incident_id = incident_abroad(system, officers)
    request_id = request_assistance(system, officers, incident_id, "repatriation", 90_000)
    system.fund_process.run_once()
    assert system.incidents.get(incident_id).assistance[request_id] == "refused"
    assert system.fund_process.run_once() == 0


def test_money_is_whole_minor_units_never_a_decimal():
    for bad in (12.5, "12.50", "ten"):
        with pytest.raises(InvalidCommand) as refused:
            c.RecordGrant.parse(
                {
                    "command_id": uuid4(),
                    "donor": "IOM",
                    "amount": {"amount_minor": bad, "currency": "KES"},
                    "received_on": days_ago(1),
                    "reference": "IOM-1",
                }
            )
        assert refused.value.errors[0][0] == "amount.amount_minor"
    assert (
        c.RecordGrant.parse(
            {
                "command_id": uuid4(),
                "donor": "IOM",
                "amount": {"amount_minor": "1250", "currency": "KES"},
                "received_on": days_ago(1),
                "reference": "IOM-1",
            }
        ).amount.amount_minor
        == 1250
    )


def test_overdue_requests_lapse_once_and_show_on_the_incident(fund, officers):
    _, incident_id = incident_abroad(fund, officers)
    request_id = request_assistance(fund, officers, incident_id, "shelter", 20_000)
    fund.fund_process.run_once()
    later = fund.ledger.disbursement(request_id).expires_at
    assert fund.fund_process.expire_overdue(now=later) == 1
    assert fund.fund_process.expire_overdue(now=later) == 0
    fund.fund_process.run_once()
    assert fund.incidents.get(incident_id).assistance[request_id] == "expired"
    assert bank(fund).available == bank(fund).posted


def test_accounts_are_opened_and_closed_never_deleted(fund, officers):
    opening = c.OpenAccount(
        command_id=uuid4(), account="Assets:Bank:Remittances", currency="USD", type="asset"
    )
    fund.ledger.open_account(officers.fund, opening)
    assert account_in(fund, "Assets:Bank:Remittances", "USD").posted == 0
    with pytest.raises(LedgerRefusal, match="not liability"):
        fund.ledger.open_account(
            officers.fund,
            opening.model_copy(update={"command_id": uuid4(), "type": AccountType.LIABILITY}),
        )
    with pytest.raises(LedgerRefusal, match="still holds"):
        fund.ledger.close_account(
            officers.fund,
            c.CloseAccount(command_id=uuid4(), account=BANK, currency="KES", reason="Moving"),
        )
    close = c.CloseAccount(
        command_id=uuid4(), account="Assets:Bank:Remittances", currency="USD", reason="Unused"
    )
    fund.ledger.close_account(officers.fund, close)
    closed = account_in(fund, "Assets:Bank:Remittances", "USD")
    assert closed.closed  # still there, with its history
    with pytest.raises(InvalidCommand):
        c.OpenAccount.parse(
            {"command_id": uuid4(), "account": "Bank", "currency": "USD", "type": "asset"}
        )


def account_in(system, code, currency):
    return system.ledger.book().account(code, currency)


def test_a_zero_estimate_does_not_stop_the_fund_process(fund, officers):
    _, incident_id = incident_abroad(fund, officers)
    zero = request_assistance(fund, officers, incident_id, "counselling", 0)
    later = request_assistance(fund, officers, incident_id, "medical_care", 10_000)
    fund.fund_process.run_once()
    assert fund.fund_process.lag() == 0
    assert not fund.store.exists(zero)  # nothing for the fund to pay
    assert fund.ledger.disbursement(later).status is DisbursementStatus.REQUESTED
