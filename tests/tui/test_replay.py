"""The auditor's replays of a case and of the fund, driven by keys only: the
step line and every message on the screen at 80x24, 100x30 and 160x48, and
"as of" a date by recorded time or by happened (real-world) time - a
history entered late is empty by recorded time and whole by happened time."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tests import factories, fund_helpers
from tests.tui.conftest import make_app, settle
from tests.tui.test_queue import inside, rendered, sign_in_by_keys, type_text, words_seen
from tui.app.screens.fund_replay import FundReplayScreen
from tui.app.screens.replay import ReplayScreen, as_of_step

SIZES = [(80, 24), (100, 30), (160, 48)]


async def open_case_replay(pilot, migrant_id) -> ReplayScreen:
    await sign_in_by_keys(pilot, "auditor")
    pilot.app.push_screen(ReplayScreen(migrant_id))
    await settle(pilot)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReplayScreen)
    return pilot.app.screen


async def as_of(pilot, day: str) -> None:
    await pilot.press("slash")
    await type_text(pilot, day)
    await pilot.press("enter")
    await settle(pilot)
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_step_line_and_messages_are_always_on_the_screen(system, officers, size):
    migrant_id = factories.send_abroad(system, officers)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        replay = await open_case_replay(pilot, migrant_id)
        head = replay.query_one("#step-head")
        assert inside(app, head)
        assert "Step 1 of 6: MigrantRegistered by Grace Wanjiru" in words_seen(app)
        await pilot.press("G")
        await settle(pilot)
        assert inside(app, head) and "Step 6 of 6: Arrived" in words_seen(app)

        # Before the first event: the message is on the screen, not hidden.
        await as_of(pilot, "2000-01-01")
        assert inside(app, head)
        seen = words_seen(app)
        assert "As of 2000-01-01 by recorded time: nothing was recorded by then" in seen
        assert "Nothing was recorded by 2000-01-01" in seen
        # A step chosen by hand shows its line again.
        await pilot.press("g")
        await settle(pilot)
        assert "Step 1 of 6" in words_seen(app) and "nothing was recorded" not in words_seen(app)

    # The fund's replay: the same header, with the account choice and the date box.
    fund_helpers.open_fund(system, officers)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "auditor")
        app.action_fund_replay()
        await settle(pilot)
        replay = app.screen
        assert isinstance(replay, FundReplayScreen)
        for widget in ("#replay-title", "#account", "#as-of", "#basis", "#step-head", "#steps"):
            assert inside(app, replay.query_one(widget)), widget
        assert "Step 1 of" in words_seen(app) and "FundOpened" in words_seen(app)


async def test_as_of_by_happened_time_shows_a_history_entered_late(system, officers):
    # Registered, oriented, contracted, a member, departed and arrived a
    # year ago - all recorded today.
    migrant_id = factories.send_abroad(system, officers)
    events = list(system.store.events.get(migrant_id))
    day = factories.days_ago(365)
    end_of_day = datetime.combine(day, time.max, tzinfo=UTC)
    happened_by_then = [i for i, e in enumerate(events) if e.occurred_at <= end_of_day]
    assert happened_by_then and all(e.timestamp > end_of_day for e in events)

    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        replay = await open_case_replay(pilot, migrant_id)
        # By recorded time: nothing yet on that day.
        await as_of(pilot, day.isoformat())
        assert f"As of {day} by recorded time: nothing was recorded by then" in words_seen(app)

        # t: by happened time, the same date: the case as it was then.
        await pilot.press("t")
        await settle(pilot)
        await settle(pilot)
        assert "t: as of happened time" in words_seen(app)
        step = happened_by_then[-1]
        assert replay.step == step
        assert replay.case_as_of.version == events[step].originator_version
        assert f"As of {day} by happened time: step {step + 1}." in words_seen(app)
        assert f"Step {step + 1} of {len(events)}" in words_seen(app)
        # Departure happened after that day: the case had not left yet.
        assert replay.case_as_of.stage.value == "pre_departure"

        # Back to recorded time: nothing, again.
        await pilot.press("t")
        await settle(pilot)
        assert "nothing was recorded by then" in words_seen(app)


def test_as_of_names_earlier_steps_that_happened_later():
    """Entered out of order: the state after the step includes them, and says so."""
    at = [datetime(2026, 1, d, tzinfo=UTC) for d in range(1, 6)]
    # (recorded, happened): step 1 happened on the 5th, the rest in order.
    times = [(at[0], at[0]), (at[1], at[4]), (at[2], at[1]), (at[3], at[3])]
    assert as_of_step(times, at[2].date(), "happened") == (2, [1])
    assert as_of_step(times, at[2].date(), "recorded") == (2, [])
    assert as_of_step(times, datetime(2025, 12, 31).date(), "happened") == (None, [])


async def test_fund_replay_as_of_happened_time_and_literal_accounts(system, officers):
    from ledger.chart import BANK

    # The grant was received 30 days before it was recorded (today).
    fund_helpers.open_fund(system, officers, grant_shillings=500_000)
    received = factories.days_ago(30)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "auditor")
        app.action_fund_replay()
        await settle(pilot)
        replay = app.screen
        await pilot.press("t")
        await as_of(pilot, received.isoformat())
        step = replay.shown[replay.step]
        assert step.event.occurred_at.date() == received
        assert f"As of {received} by happened time" in words_seen(app)
        # The fund was opened (today) before the grant was recorded: named.
        assert "Recorded before it but happened after" in words_seen(app)
        state = rendered(replay.query_one("#state").content)
        assert BANK in state and "🏦" not in state and "500,000.00" in state
        assert "500,000.00 KES" in words_seen(app)


def test_a_step_by_the_system_names_it_once():
    from tui.app.screens.replay import step_line

    line = step_line(12, 13, "AssistancePaid", "Msafiri (system)", "system", "d1", "d2")
    assert line == "Step 13 of 13: AssistancePaid by Msafiri (system) · recorded d1 · happened d2"
    line = step_line(0, 2, "Arrived", "Peter Otieno", "labour_attache", "d1", "d2")
    assert "by Peter Otieno (labour attache) ·" in line
