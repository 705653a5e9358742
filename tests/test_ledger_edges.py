"""The ledger's edges (issue 12, money): expired requests, maker-checker on
corrections and reversals, caps and ineligible requests, value dates - each
through the public LedgerService, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import NotAuthorised, NotFound
from domain.officers.commands import GrantRole
from domain.values import Role
from domain.viewer import NOBODY
from ledger import commands as c
from ledger.chart import APPROVED, BANK, CORRECTIONS, GRANTS
from ledger.errors import (
    AboveCap,
    InsufficientFunds,
    LedgerRefusal,
    MakerCheckerViolation,
    OverdrawnByValueDate,
    RequestLapsed,
    ValueDateRefused,
)
from ledger.vocabulary import DisbursementStatus
from projections import open_read_models
from projections.schema import upgrade
from tests.factories import days_ago, today
from tests.fund_helpers import (
    FUND_AGE_DAYS,
    approve,
    bank,
    incident_abroad,
    kes,
    open_fund,
    pay,
    request,
    request_assistance,
)

EXCEPTION = "Stranded after surgery; board guidance on destitute workers."


@pytest.fixture
def fund(system, officers):
    open_fund(system, officers, grant_shillings=1_000_000)
    return system


def account(system, code):
    return system.ledger.book().account(code, "KES")


def past_expiry(system, disbursement_id):
    """Move the ledger's clock to just after the request's expiry."""
    later = system.ledger.disbursement(disbursement_id).expires_at + timedelta(minutes=1)
    system.ledger.clock = lambda: later


def third_fund_officer(system, officers):
    system.officers.grant_role(
        officers.admin,
        GrantRole(username="reintegrator", role="fund_officer", reason="Acting fund officer"),
    )
    return officers.reintegrator.model_copy(update={"role": Role.FUND_OFFICER})


def correction(legs, value_date=None, reason="Bank charges booked twice."):
    return c.PostCorrection.parse(
        {
            "command_id": uuid4(),
            "legs": legs,
            "value_date": value_date or days_ago(0),
            "reason": reason,
        }
    )


def out_of_bank(shillings, to=CORRECTIONS):
    return [
        {"account": to, "currency": "KES", "debit_minor": shillings * 100},
        {"account": BANK, "currency": "KES", "credit_minor": shillings * 100},
    ]


# --- 1. expired requests -------------------------------------------------------


def test_approving_an_expired_request_records_the_lapse_and_is_refused(fund, officers):
    _, incident_id = incident_abroad(fund, officers)
    d = request_assistance(fund, officers, incident_id, "medical_care", 30_000)
    fund.fund_process.run_once()
    assert bank(fund).available == 97_000_000
    past_expiry(fund, d)  # the sweep has not run
    command = c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d)
    with pytest.raises(
        RequestLapsed, match=r"expired at \d{4}-\d\d-\d\d \d\d:\d\d UTC; it has been lapsed"
    ):
        fund.ledger.approve(officers.fund, command)
    assert fund.ledger.disbursement(d).status is DisbursementStatus.EXPIRED
    assert bank(fund).available == bank(fund).posted == 100_000_000  # released
    with pytest.raises(RequestLapsed):  # a retry gets the same answer
        fund.ledger.approve(officers.fund, command)
    # The same lapse the sweep records: written back on the incident, once.
    assert fund.fund_process.expire_overdue(now=fund.ledger.clock()) == 0
    fund.fund_process.run_once()
    assert fund.incidents.get(incident_id).assistance[d] == "expired"


def test_an_exception_on_an_expired_request_lapses_it(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    request(fund, officers.attache, migrant_id, incident_id, 10_000)
    d = request(fund, officers.attache, migrant_id, incident_id, 10_000)  # ineligible
    past_expiry(fund, d)
    with pytest.raises(RequestLapsed):
        approve(fund, officers.fund, d, humanitarian_exception=True, reason=EXCEPTION)
    assert fund.ledger.disbursement(d).status is DisbursementStatus.EXPIRED
    assert d not in fund.ledger.book().unreserved


def test_paying_an_expired_approval_lapses_it_and_releases_the_expense(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 40_000)
    approve(fund, officers.fund, d)
    assert account(fund, APPROVED).posted == 4_000_000
    past_expiry(fund, d)
    with pytest.raises(RequestLapsed, match="it has been lapsed"):
        pay(fund, officers.fund, d)
    assert fund.ledger.disbursement(d).status is DisbursementStatus.EXPIRED
    assert account(fund, APPROVED).posted == 0
    assert account(fund, "Expenses:Benefits:Medical").posted == 0
    assert bank(fund).available == bank(fund).posted == 100_000_000


# --- 2. maker-checker on corrections and reversals -------------------------------


def test_one_officer_cannot_move_a_million_out_with_a_correction(fund, officers):
    third = third_fund_officer(fund, officers)
    command = correction(out_of_bank(1_000_000))
    proposed = fund.ledger.post_correction(officers.fund, command)
    assert proposed["status"] == "proposed" and proposed["approvers_needed"] == 2
    assert bank(fund).posted == 100_000_000  # nothing moved yet

    def approval():
        return c.ApproveCorrection(command_id=uuid4(), proposal_id=command.command_id)

    with pytest.raises(MakerCheckerViolation, match="proposed"):
        fund.ledger.approve_correction(officers.fund, approval())
    with pytest.raises(NotAuthorised):
        fund.ledger.approve_correction(officers.attache, approval())
    first = fund.ledger.approve_correction(officers.fund2, approval())
    assert first["status"] == "proposed" and bank(fund).posted == 100_000_000
    with pytest.raises(MakerCheckerViolation, match="already approved"):
        fund.ledger.approve_correction(officers.fund2, approval())
    done = fund.ledger.approve_correction(third, approval())
    assert done["status"] == "approved" and bank(fund).posted == 0
    assert fund.ledger.transfer(command.command_id).kind.value == "correction"


def test_a_small_correction_needs_one_other_officer_and_money_in_posts_at_once(fund, officers):
    command = correction(out_of_bank(5_000))
    assert fund.ledger.post_correction(officers.fund, command)["approvers_needed"] == 1
    fund.ledger.approve_correction(
        officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=command.command_id)
    )
    assert bank(fund).posted == 99_500_000
    # Reclassifying between two expense accounts takes nothing out of the fund.
    moved = correction(
        [
            {"account": "Expenses:Benefits:Medical", "currency": "KES", "debit_minor": 100},
            {"account": "Expenses:Benefits:Shelter", "currency": "KES", "credit_minor": 100},
        ]
    )
    assert fund.ledger.post_correction(officers.fund, moved)["status"] == "posted"


def test_reversing_a_grant_is_proposed_and_can_be_rejected(fund, officers):
    grant = c.RecordGrant(
        command_id=uuid4(), donor="IOM", amount=kes(500), received_on=days_ago(2), reference="X-1"
    )
    fund.ledger.record_grant(officers.fund, grant)
    reverse = c.ReverseTransfer(command_id=uuid4(), transfer_id=grant.command_id, reason="Dup.")
    assert fund.ledger.reverse(officers.fund, reverse)["status"] == "proposed"
    assert account(fund, GRANTS).posted == 100_050_000
    fund.ledger.reject_correction(
        officers.fund2,
        c.RejectCorrection(command_id=uuid4(), proposal_id=reverse.command_id, reason="Genuine."),
    )
    with pytest.raises(LedgerRefusal, match="rejected"):
        fund.ledger.approve_correction(
            officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=reverse.command_id)
        )
    assert account(fund, GRANTS).posted == 100_050_000
    assert fund.ledger.correction(reverse.command_id).status == "rejected"


# --- 3. caps and ineligible requests ------------------------------------------------


def test_a_request_above_the_cap_is_refused_naming_the_cap(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    with pytest.raises(AboveCap, match="cap for legal aid of 200,000 KES"):
        request(fund, officers.attache, migrant_id, incident_id, 90_000_000, category="legal_aid")
    assert bank(fund).available == 100_000_000
    # Through the fund process the refusal is written on the incident.
    d = request_assistance(fund, officers, incident_id, "legal_aid", 300_000)
    fund.fund_process.run_once()
    assert fund.incidents.get(incident_id).assistance[d] == "refused"
    assert not fund.store.exists(d)


def test_an_ineligible_request_reserves_nothing_until_its_exception(system, officers):
    open_fund(system, officers, grant_shillings=100_000)
    migrant_id, incident_id = incident_abroad(system, officers)
    request(system, officers.attache, migrant_id, incident_id, 60_000)
    ineligible = request(system, officers.attache, migrant_id, incident_id, 50_000)
    assert bank(system).available == 4_000_000  # the second one reserved nothing
    # A valid request still finds the money.
    request(system, officers.attache, migrant_id, incident_id, 30_000, category="shelter")
    assert bank(system).available == 1_000_000
    approve(system, officers.fund, ineligible, humanitarian_exception=True, reason=EXCEPTION)
    with pytest.raises(InsufficientFunds, match="available"):
        approve(system, officers.fund2, ineligible, humanitarian_exception=True, reason=EXCEPTION)
    assert system.ledger.disbursement(ineligible).status is DisbursementStatus.REQUESTED
    assert bank(system).available == 1_000_000


# --- 4. value dates ------------------------------------------------------------------


def test_a_payment_is_not_dated_before_its_approval_nor_in_the_future(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 10_000)
    approve(fund, officers.fund, d)
    with pytest.raises(ValueDateRefused, match="before its approval"):
        pay(fund, officers.fund, d, paid_on=days_ago(1))
    with pytest.raises(ValueDateRefused, match="before the fund opened"):
        pay(fund, officers.fund, d, paid_on="1990-01-01")
    # The command allows a day of slack for time zones; the ledger's rule is
    # today's date in UTC.
    with pytest.raises(ValueDateRefused, match="in the future"):
        pay(fund, officers.fund, d, paid_on=today() + timedelta(days=1))
    assert bank(fund).posted == 100_000_000
    pay(fund, officers.fund, d, paid_on=today())
    assert bank(fund).posted == 99_000_000


def test_money_in_is_not_dated_before_the_fund_opened(fund, officers):
    migrant_id, _ = incident_abroad(fund, officers)
    grant = c.RecordGrant(
        command_id=uuid4(),
        donor="IOM",
        amount=kes(500),
        received_on=days_ago(FUND_AGE_DAYS + 1),
        reference="IOM-7",
    )
    with pytest.raises(ValueDateRefused, match="before the fund opened"):
        fund.ledger.record_grant(officers.fund, grant)
    with pytest.raises(ValueDateRefused, match="before the fund opened"):
        fund.ledger.record_contribution(
            officers.fund,
            c.RecordContribution(
                command_id=uuid4(),
                migrant_id=migrant_id,
                membership_number="MWF-000042",
                amount=kes(3_000),
                received_on="1990-01-01",
                reference="NEA-1",
            ),
        )
    # Nor in the future (today's date in UTC), money in or a correction.
    tomorrow = grant.model_copy(
        update={"command_id": uuid4(), "received_on": today() + timedelta(days=1)}
    )
    with pytest.raises(ValueDateRefused, match=r"received_on .* is in the future"):
        fund.ledger.record_grant(officers.fund, tomorrow)
    moved_in = [
        {"account": BANK, "currency": "KES", "debit_minor": 100},
        {"account": CORRECTIONS, "currency": "KES", "credit_minor": 100},
    ]
    with pytest.raises(ValueDateRefused, match=r"value_date .* is in the future"):
        fund.ledger.post_correction(
            officers.fund, correction(moved_in, value_date=today() + timedelta(days=1))
        )
    assert bank(fund).posted == 100_000_000  # nothing of it stored


def test_no_posting_overdraws_the_bank_by_value_date(fund, officers):
    # The fund's million came in 30 days ago; 40 days ago the bank was empty.
    before_the_grant = correction(out_of_bank(9_285), value_date=days_ago(40))
    with pytest.raises(OverdrawnByValueDate, match=r"on \d{4}-\d\d-\d\d would be -9,285.00 KES"):
        fund.ledger.post_correction(officers.fund, before_the_grant)
    assert not fund.store.exists(before_the_grant.command_id)
    # Dated after the grant it is covered on every later day, so it can go
    # to an approver.
    after = correction(out_of_bank(9_285), value_date=days_ago(20))
    assert fund.ledger.post_correction(officers.fund, after)["status"] == "proposed"
    fund.ledger.approve_correction(
        officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=after.command_id)
    )
    assert bank(fund).posted == 100_000_000 - 928_500


# --- the read models show the new states ----------------------------------------------


def test_the_fund_read_models_show_proposals_and_lapses(fund, officers):
    upgrade(fund.database)
    models = open_read_models(fund.settings, fund.database, fund.store)
    try:
        command = correction(out_of_bank(5_000))
        fund.ledger.post_correction(officers.fund, command)
        migrant_id, incident_id = incident_abroad(fund, officers)
        d = request(fund, officers.attache, migrant_id, incident_id, 10_000)
        past_expiry(fund, d)
        with pytest.raises(RequestLapsed):
            approve(fund, officers.fund, d)
        models.catch_up()
        (waiting,) = models.queries.correction_queue()
        assert waiting.proposal_id == str(command.command_id) and waiting.kind == "correction"
        assert (waiting.moves_out_minor, waiting.currency) == (500_000, "KES")
        assert waiting.proposed_by == str(officers.fund.officer_id)
        assert waiting.approvals_given == 0 and waiting.approvers_needed == 1
        assert models.queries.get_disbursement(str(d), viewer=NOBODY).status == "expired"
        fund.ledger.approve_correction(
            officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=command.command_id)
        )
        models.catch_up()
        assert models.queries.correction_queue() == []
        (approved,) = models.queries.correction_queue("approved")
        assert approved.approvals[0]["officer_id"] == str(officers.fund2.officer_id)
    finally:
        models.close()


def test_approving_something_that_is_no_proposal_is_refused_by_name(fund, officers):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 10_000)
    for wrong in (d, uuid4()):
        with pytest.raises(NotFound, match="no correction"):
            fund.ledger.approve_correction(
                officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=wrong)
            )
