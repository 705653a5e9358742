"""The auditor replays the fund: every event of the book, the balances as of
each step, one account's history alone, and a jump to a date."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import DataTable, Select

from domain.values import Role
from ledger.chart import BANK, account_key
from tests.fund_helpers import approve, bank, incident_abroad, open_fund, pay, request
from tests.tui.conftest import settle, signed_in
from tui.app.screens.fund_replay import FundReplayScreen

MEDICAL = "Expenses:Benefits:Medical"


async def test_auditor_steps_through_the_fund_and_one_account(system, officers):
    open_fund(system, officers, grant_shillings=500_000)
    migrant_id, incident_id = incident_abroad(system, officers)
    paid = request(system, officers.attache, migrant_id, incident_id, 40_000)
    approve(system, officers.fund, paid)
    pay(system, officers.fund2, paid)
    request(system, officers.attache, migrant_id, incident_id, 7_000, category="shelter")
    book_events = list(system.store.events.get(system.ledger.book_id))
    bank_now = bank(system)

    async with signed_in(system, "auditor") as (app, pilot):
        assert app.session.role is Role.AUDITOR
        app.action_fund_replay()
        await settle(pilot)
        replay = app.screen
        assert isinstance(replay, FundReplayScreen)
        steps = replay.query_one("#steps", DataTable)
        assert steps.row_count == len(book_events)
        # Step 1: the fund opened, nothing in the bank yet.
        assert steps.get_row_at(0)[3] == "FundOpened"
        assert replay.book_as_of.version == 1 and replay.book_as_of.accounts == {}

        # The last step: the balances as they are now, reservations included.
        await pilot.press("G")
        await settle(pilot)
        now = replay.book_as_of.account(BANK, "KES")
        assert (now.posted, now.pending, now.available) == (
            bank_now.posted,
            bank_now.pending,
            bank_now.available,
        )
        assert now.available < now.posted  # the shelter request is still reserved

        # One account: only the events that moved medical expenses.
        replay.query_one("#account", Select).value = account_key(MEDICAL, "KES")
        await settle(pilot)
        kinds = [steps.get_row_at(i)[3] for i in range(steps.row_count)]
        assert kinds[0] == "AccountOpened" and "TransferPosted" in kinds
        assert "PolicyAdopted" not in kinds and len(kinds) < len(book_events)
        assert "40,000.00 KES" in {str(steps.get_row_at(i)[4]) for i in range(steps.row_count)}
        assert replay.book_as_of.account(MEDICAL, "KES").posted == 0  # as opened
        await pilot.press("G")
        await settle(pilot)
        medical = replay.book_as_of.account(MEDICAL, "KES")
        assert medical.posted == system.ledger.book().account(MEDICAL, "KES").posted > 0

        # A date before anything was recorded shows nothing, not an error.
        date_box = replay.query_one("#as-of")
        date_box.value = "2000-01-01"
        await pilot.press("slash", "enter")
        await settle(pilot)
        assert "Nothing was recorded by 2000-01-01" in str(replay.query_one("#state").render())
        # Today: the last step of the account's history.
        await pilot.press("g")
        await settle(pilot)
        date_box.value = datetime.now(UTC).date().isoformat()
        await pilot.press("slash", "enter")
        await settle(pilot)
        assert replay.step == steps.row_count - 1
