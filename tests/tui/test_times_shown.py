"""Stored instants are shown in the officer's zone (MSAFIRI_TIMEZONE, else the
machine's: msafiri/zones.py), and the screen names the zone: an attaché in
Riyadh who typed 09:30 reads 09:30 back, not the 06:30 stored in UTC."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from msafiri.bootstrap import System, build_system
from msafiri.settings import Settings
from tests import factories, fund_helpers
from tests.tui.conftest import cells, settle, signed_in
from tests.tui.test_timeline_entry import shown
from tui.app.screens.access_log import AccessLogScreen
from tui.app.screens.audit import WhoDidWhatScreen
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.fund import FundHomeScreen
from tui.app.screens.incident_view import IncidentScreen
from tui.app.screens.replay import ReplayScreen, as_of_step
from tui.app.screens.status import StatusScreen

RIYADH = ZoneInfo("Asia/Riyadh")  # UTC+3, no summer time


@pytest.fixture
def system(database_url) -> Iterator[System]:
    """As tests/tui/conftest.py's, for an officer in Riyadh (MSAFIRI_TIMEZONE)."""
    system = build_system(Settings(database_url=database_url, timezone="Asia/Riyadh"))
    try:
        yield system
    finally:
        system.close()


def _headers(table: DataTable) -> list[str]:
    return [str(column.label) for column in table.columns.values()]


def _near_now_in_riyadh(text: str, tolerance=timedelta(minutes=2)) -> bool:
    """`text` ("2026-11-20 09:30[:05]") is Riyadh's wall clock now, not UTC's."""
    moment = datetime.fromisoformat(text).replace(tzinfo=RIYADH)
    return abs(moment - datetime.now(RIYADH)) < tolerance


def _late_evening_incident(system, officers, migrant_id: UUID, day: date) -> UUID:
    """Happened at 22:30 UTC on `day` (01:30 the next day in Riyadh),
    reported at 06:30 UTC the day after (09:30 in Riyadh)."""
    return fund_helpers.report_injury(
        system,
        officers,
        migrant_id,
        occurred_at=f"{day}T22:30:00Z",
        reported_at=f"{day + timedelta(days=1)}T06:30:00+00:00",
    )


async def test_case_timeline_incidents_and_incident_in_the_officers_zone(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    day = factories.days_ago(20)
    next_day = day + timedelta(days=1)
    incident_id = _late_evening_incident(system, officers, migrant_id, day)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        case = app.screen
        assert isinstance(case, CaseScreen)
        # The timeline names the zone and shows when each event was recorded
        # on the Riyadh clock; the incident happened on Riyadh's next day.
        timeline = case.query_one("#timeline", DataTable)
        assert _headers(timeline)[1:3] == ["Recorded (Asia/Riyadh)", "Happened"]
        [reported] = [e for e in case.timeline.values() if e.event_type == "IncidentReported"]
        row = [str(cell) for cell in timeline.get_row(str(reported.notification_id))]
        assert _near_now_in_riyadh(row[1]), row
        assert row[2] == next_day.isoformat()
        # The Incidents tab: the day it happened where the officer is.
        case.query_one(TabbedContent).active = "tab-incidents"
        await settle(pilot)
        incidents = case.query_one("#incidents", DataTable)
        assert cells(incidents, 0)[5] == next_day.isoformat()

        # The incident in full: to the second, the zone named.
        app.push_screen(IncidentScreen(incident_id))
        await settle(pilot)
        facts = shown(app.screen.query_one("#incident-facts", Static))
        assert f"happened {next_day} 01:30:00 Asia/Riyadh" in facts, facts
        assert f"reported {next_day} 09:30:00 Asia/Riyadh" in facts, facts
        assert "UTC" not in facts


async def test_fund_request_shows_its_times_in_the_officers_zone(system, officers):
    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    fund_helpers.request(system, officers.attache, migrant_id, incident_id, 20_000)
    async with signed_in(system, "fund") as (app, pilot):
        assert isinstance(app.screen, FundHomeScreen)
        await settle(pilot)
        detail = shown(app.screen.query_one("#detail", Static))
        # "requested 2026-12-01 09:30 by Peter Otieno (labour attache)", then "times in Asia/Riyadh"
        requested = re.search(r"requested (\S+ \S+) by", detail)
        assert requested and _near_now_in_riyadh(requested[1]), detail
        assert "times in Asia/Riyadh" in detail
        # The queue's request date is Riyadh's today.
        queue = app.screen.query_one("#queue", DataTable)
        assert datetime.now(RIYADH).date().isoformat() in cells(queue, 0)


async def test_audit_access_log_replay_and_status_name_the_zone(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    async with signed_in(system, "auditor") as (app, pilot):
        app.push_screen(WhoDidWhatScreen())
        await settle(pilot)
        trail = app.screen.query_one("#events", DataTable)
        assert _headers(trail)[1] == "Recorded (Asia/Riyadh)"
        assert trail.row_count and _near_now_in_riyadh(cells(trail, 0)[1]), cells(trail, 0)

        app.push_screen(AccessLogScreen())
        await settle(pilot)
        entries = app.screen.query_one("#entries", DataTable)
        assert _headers(entries)[1] == "When (Asia/Riyadh)"

        app.push_screen(ReplayScreen(migrant_id))
        await settle(pilot)
        title = shown(app.screen.query_one("#replay-title", Static))
        assert title.endswith(" · times in Asia/Riyadh"), title
        head = shown(app.screen.query_one("#step-head", Static))
        recorded = head.split(" · recorded ", 1)[1][:16]
        assert _near_now_in_riyadh(recorded), head

        app.push_screen(StatusScreen())
        await settle(pilot)
        status = shown(app.screen.query_one("#status-facts", Static))
        assert "time zone Asia/Riyadh (MSAFIRI_TIMEZONE)" in status, status


def test_as_of_a_date_in_a_replay_is_the_officers_day():
    """Recorded at 22:30 UTC on 20 November: already the 21st in Riyadh, so
    "as of 2026-11-20" in Riyadh is before it, and in UTC after it."""
    recorded = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)
    times = [(recorded, recorded)]
    assert as_of_step(times, date(2026, 11, 20), "recorded", RIYADH) == (None, [])
    assert as_of_step(times, date(2026, 11, 21), "recorded", RIYADH) == (0, [])
    assert as_of_step(times, date(2026, 11, 20), "recorded", UTC) == (0, [])
