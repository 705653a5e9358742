"""SVG snapshots of the fund desk, one request, the fund's replay and a
case's replay, at 80x24 and 160x48 - on the seeded demo with the clock
frozen (the fixtures of test_snapshots.py), so every run draws the same.

Update deliberately with `uv run pytest tests/tui/test_snapshots_fund.py
--snapshot-update` and look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from domain.values import Role
from tests.tui import test_snapshots as shots
from tests.tui.conftest import settle

# The demo and its fixtures, shared with test_snapshots.py (built once here too).
database_url = shots.database_url
demo_file = shots.demo_file
demo_system = shots.demo_system
signed_in, busiest_case = shots.signed_in, shots.busiest_case

SIZES = [(80, 24), (160, 48)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


@size_ids
def test_fund_desk(snap_compare, demo_system, size):
    from tui.app.screens.fund import FundHomeScreen

    app = signed_in(demo_system, "demo.fund", Role.FUND_OFFICER)

    async def open_desk(pilot):
        await app.switch_screen(FundHomeScreen())
        await settle(pilot)
        await settle(pilot)  # the request detail loads after the queue

    assert snap_compare(app, terminal_size=size, run_before=open_desk)


@size_ids
def test_request_detail(snap_compare, demo_system, size):
    from tui.app.screens.fund import FundHomeScreen

    app = signed_in(demo_system, "demo.fund", Role.FUND_OFFICER)

    async def open_request(pilot):
        await app.switch_screen(FundHomeScreen())
        await settle(pilot)
        await pilot.press("down", "enter")  # the second request, on its own screen
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_request)


@size_ids
def test_fund_replay(snap_compare, demo_system, size):
    from tui.app.screens.fund_replay import FundReplayScreen

    app = signed_in(demo_system, "demo.auditor", Role.AUDITOR)

    async def open_replay(pilot):
        await app.switch_screen(FundReplayScreen())
        await settle(pilot)
        for _ in range(20):  # to the first transfers
            await pilot.press("down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_replay)


@size_ids
def test_case_replay(snap_compare, demo_system, size):
    from tui.app.screens.replay import ReplayScreen

    app = signed_in(demo_system, "demo.auditor", Role.AUDITOR)
    migrant_id = busiest_case(demo_system)

    async def open_replay(pilot):
        await app.switch_screen(ReplayScreen(migrant_id))
        await settle(pilot)
        await pilot.press("t", "slash", *"2025-06-30", "enter")  # as of a real-world date
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_replay)
