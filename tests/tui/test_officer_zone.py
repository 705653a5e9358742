"""A date-time typed in a form without a zone is in the officer's zone
(MSAFIRI_TIMEZONE, else the machine's), as in the CLI; the field's label says
which zone; one typed with an offset keeps it; what is stored is UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Input, Label

from domain.viewer import NOBODY
from msafiri.bootstrap import System, build_system
from msafiri.settings import Settings
from tests import factories, fund_helpers
from tests.tui.conftest import fill, settle, signed_in
from tests.tui.test_need_to_know import _open_form, _supervisor
from tui.app.screens.actions import FormScreen
from tui.app.screens.case_view import CaseScreen

RIYADH = ZoneInfo("Asia/Riyadh")  # UTC+3, no summer time


@pytest.fixture
def system(database_url) -> Iterator[System]:
    """As tests/tui/conftest.py's, for an officer in Riyadh (MSAFIRI_TIMEZONE)."""
    system = build_system(Settings(database_url=database_url, timezone="Asia/Riyadh"))
    try:
        yield system
    finally:
        system.close()


def _tomorrow_in_riyadh() -> str:
    return (datetime.now(RIYADH) + timedelta(days=1)).date().isoformat()


async def _grant(system, officers, until: str) -> tuple[str, datetime]:
    """A supervisor grants access until `until` as typed: (the label the
    until field had, the stored expiry)."""
    _supervisor(system, officers)
    migrant_id, _ = fund_helpers.incident_abroad(system, officers)
    async with signed_in(system, "supervisor", case=migrant_id) as (app, pilot):
        await _open_form(app, pilot, "case: grant access")
        form = app.screen
        assert isinstance(form, FormScreen)
        label = str(form.query_one("#l-expires_at", Label).render())
        fill(form, officer_id=str(officers.fund.officer_id), reason="Claim needs the report",
             expires_at=until)  # fmt: skip
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen), str(form.query_one("#form-error").render())
    [grant] = system.read_models.queries.case_access(str(migrant_id))
    stored = system.access.get(UUID(grant.grant_id)).expires_at
    assert datetime.fromisoformat(grant.expires_at) == stored  # the read model agrees
    return label, stored


async def test_a_time_without_a_zone_is_the_officers_and_the_label_says_so(system, officers):
    day = _tomorrow_in_riyadh()
    label, stored = await _grant(system, officers, f"{day} 17:00")
    assert label == "Expires at (YYYY-MM-DD HH:MM, Asia/Riyadh time)"
    # 17:00 in Riyadh is 14:00 UTC, and it is stored in UTC.
    assert stored == datetime.fromisoformat(f"{day}T14:00:00+00:00")
    assert stored.utcoffset() == timedelta(0)


async def test_a_time_typed_with_an_offset_keeps_it(system, officers):
    day = _tomorrow_in_riyadh()
    _, stored = await _grant(system, officers, f"{day} 17:00+05:30")
    assert stored == datetime.fromisoformat(f"{day}T11:30:00+00:00")
    assert stored.utcoffset() == timedelta(0)


async def test_the_report_forms_times_are_the_officers(system, officers):
    """The incident report's "reported at" starts as now on the officer's
    clock (not UTC's, which would store it three hours early), and "occurred
    at" is read in the officer's zone."""
    migrant_id = factories.send_abroad(system, officers)
    yesterday = (datetime.now(RIYADH) - timedelta(days=1)).date().isoformat()
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        await _open_form(app, pilot, "incident: report")
        form = app.screen
        labels = [
            str(form.query_one(f"#l-{n}", Label).render()) for n in ("occurred_at", "reported_at")
        ]
        assert labels == [
            "Occurred at (YYYY-MM-DD HH:MM, Asia/Riyadh time)",
            "Reported at (YYYY-MM-DD HH:MM, Asia/Riyadh time) - optional",
        ]
        shown = datetime.fromisoformat(form.query_one("#f-reported_at", Input).value)
        assert abs(shown - datetime.now(RIYADH).replace(tzinfo=None)) < timedelta(minutes=2)
        fill(form, category="unpaid_or_delayed_wages", severity="high",
             occurred_at=f"{yesterday} 09:30", channel="hotline",
             description="Six months of wages unpaid")  # fmt: skip
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen), str(form.query_one("#form-error").render())
    page = system.read_models.queries.list_incidents(migrant_id=str(migrant_id), viewer=NOBODY)
    [row] = page.rows
    assert datetime.fromisoformat(row.occurred_at) == datetime.fromisoformat(
        f"{yesterday}T06:30:00+00:00"
    )
    reported = datetime.fromisoformat(row.reported_at)
    assert abs(reported - datetime.now(UTC)) < timedelta(minutes=2)
