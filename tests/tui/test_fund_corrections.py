"""Money out through the UI: a fund officer's reversal of a grant is only
proposed; a second fund officer approves it and only then is it posted."""

from __future__ import annotations

from textual.widgets import DataTable

from tests import fund_helpers
from tests.tui.conftest import fill, settle, signed_in
from tui.app.catalogue import BY_KEY
from tui.app.screens.actions import FormScreen, open_action
from tui.app.screens.fund import FundHomeScreen


async def test_reversing_a_grant_in_the_ui_proposes_it_for_a_second_officer(system, officers):
    fund_helpers.open_fund(system, officers, grant_shillings=50_000)  # one approver
    async with signed_in(system, "fund") as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        app.screen.query_one("#fund-tabs").active = "tab-journal"
        await settle(pilot)
        grant_row = next(i for i, line in enumerate(app.screen.lines) if line.kind == "grant")
        app.screen.query_one("#journal", DataTable).move_cursor(row=grant_row)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        proposal_id = app.screen.query_one("CommandForm").fixed["command_id"]
        fill(app.screen, reason="The grant was booked twice.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        assert any("proposed" in str(n.message) for n in app._notifications)
    assert fund_helpers.bank(system).posted == 5_000_000  # nothing left the bank
    assert system.ledger.correction(proposal_id).status == "proposed"

    async with signed_in(system, "fund2") as (app, pilot):
        await settle(pilot)
        open_action(app, BY_KEY["fund.approve_correction"])
        await pilot.pause()
        fill(app.screen, proposal_id=str(proposal_id))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FundHomeScreen)
    assert system.ledger.correction(proposal_id).status == "approved"
    assert fund_helpers.bank(system).posted == 0
