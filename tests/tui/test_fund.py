"""The fund story through the UI: an attaché asks for repatriation on an
incident, fund officers see it in the queue, the requester cannot approve
their own request, a second officer approves and records the payment."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from domain.viewer import NOBODY
from tests import fund_helpers
from tests.tui.conftest import SIZE, fill, make_app, settle, sign_in, signed_in
from tui.app.catalogue import BY_KEY
from tui.app.screens.actions import FormScreen, open_action
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.fund import FundHomeScreen


async def test_attache_requests_repatriation_and_fund_officer_pays_it(system, officers):
    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)

    # The attaché asks for repatriation on the incident, in the UI.
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        open_action(app, BY_KEY["incident.request_assistance"], incident_id=incident_id)
        await pilot.pause()
        fill(
            app.screen,
            kind="repatriation",
            estimate={"amount_minor": 4_500_000, "currency": "KES"},
            payee="Kenya Airways",
            justification="Contract terminated; stranded without wages.",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)

    # A fund officer finds it at the head of the approval queue, eligible.
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "fund")
        await settle(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        queue = app.screen.query_one("#queue", DataTable)
        assert queue.row_count == 1
        row = app.screen.queue[0]
        assert row.category == "repatriation" and row.amount_minor == 4_500_000
        detail = app.screen.query_one("#detail", Static)
        await settle(pilot)
        assert app.screen.disbursement_id is not None and detail.visual is not None

        # Approve, then pay from the payment queue.
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        await settle(pilot)
        assert app.screen.query_one("#queue", DataTable).row_count == 0
        assert [r.status for r in app.screen.payments] == ["approved"]

        app.screen.query_one("#fund-tabs").active = "tab-pay"
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        fill(app.screen, channel="bank_transfer", payment_reference="EFT-2026-0042")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await settle(pilot)
        assert app.screen.payments == []
        paid = app.read_side.queries.get_disbursement(row.disbursement_id, viewer=NOBODY)
        assert paid.status == "paid" and paid.payment_reference == "EFT-2026-0042"


async def test_the_requester_cannot_approve_their_own_request(system, officers):
    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    fund_helpers.request(system, officers.fund, migrant_id, incident_id, 20_000)
    async with signed_in(system, "fund") as (app, pilot):
        await settle(pilot)
        head = system.store.recorder.max_notification_id()
        await pilot.press("a")
        await pilot.pause()
        first_id = app.screen.query_one("CommandForm").fixed["command_id"]
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Refused, visibly: a notification and the reason on the form.
        assert isinstance(app.screen, FormScreen)
        error = str(app.screen.query_one("#form-error", Static).render())
        assert "who requested a disbursement cannot approve it" in error
        assert any(n.severity == "error" for n in app._notifications)
        # A correction would be a new command, not a replay of the refusal.
        assert app.screen.query_one("CommandForm").fixed["command_id"] != first_id
        # Only the refusal's receipt was stored, no approval.
        row = app.read_side.queries.approval_queue(viewer=NOBODY).rows[0]
        assert row.approvals_given == 0
        assert system.store.recorder.max_notification_id() <= head + 1


def text_of(renderable) -> str:
    import io

    from rich.console import Console

    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_flows_are_bucketed_by_month_category_and_currency():
    from datetime import date

    from tui.app.screens.fund_flows import benefit_flows, months_ending

    months = months_ending(date(2026, 2, 14), count=3)
    assert months == ["2025-12", "2026-01", "2026-02"]
    rows = [
        {"month": "2025-11", "account": "Expenses:Benefits:Medical", "currency": "KES",
         "debit_minor": 999, "credit_minor": 0},  # before the window
        {"month": "2025-12", "account": "Expenses:Benefits:Medical", "currency": "KES",
         "debit_minor": 500, "credit_minor": 0},
        {"month": "2026-02", "account": "Expenses:Benefits:Medical", "currency": "KES",
         "debit_minor": 300, "credit_minor": 100},  # a release nets off
        {"month": "2026-01", "account": "Expenses:Benefits:Shelter", "currency": "USD",
         "debit_minor": 70, "credit_minor": 0},
    ]  # fmt: skip
    kes, usd = benefit_flows(rows, months)
    assert (kes.currency, kes.by_category) == ("KES", {"medical": [500, 0, 200]})
    assert (usd.currency, usd.by_category) == ("USD", {"shelter": [0, 70, 0]})


async def test_the_dashboard_charts_benefit_flows_by_category(system, officers):
    from tui.app.screens.fund_flows import BenefitFlowsChart

    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    # Two benefits approved this month; the legal aid paid below its approval.
    for shillings, category, paid in ((20_000, "medical", None), (35_000, "legal_aid", 30_000)):
        request_id = fund_helpers.request(
            system, officers.attache, migrant_id, incident_id, shillings, category=category
        )
        for approver in (officers.fund, officers.fund2):
            if system.ledger.disbursement(request_id).status.value == "requested":
                fund_helpers.approve(system, approver, request_id)
        if paid:
            fund_helpers.pay(system, officers.fund, request_id, amount_minor=paid * 100)
    async with signed_in(system, "fund") as (app, pilot):
        await settle(pilot)
        app.screen.query_one("#fund-tabs").active = "tab-flows"
        await settle(pilot)
        chart = app.screen.query_one(BenefitFlowsChart)
        [kes] = chart.flows
        assert kes.currency == "KES" and kes.months[-1] == app.clock().strftime("%Y-%m")
        # Booked at approval; the unpaid 5,000 of the legal aid was released.
        assert kes.by_category == {
            "legal_aid": [0] * 11 + [3_000_000],
            "medical": [0] * 11 + [2_000_000],
        }
        # The figures under the chart say the same in words (no colour needed).
        figures = text_of(app.screen.query_one("#flows-figures", Static).content)
        assert "legal aid" in figures and "30,000.00" in figures and "50,000.00" in figures
