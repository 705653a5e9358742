"""The officer's zone (msafiri/zones.py): one rule for the CLI and the TUI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from msafiri.cli.context import CliContext
from msafiri.settings import Settings
from msafiri.zones import officer_zone, offset_name, typed_moment


def test_msafiri_timezone_is_the_zone_and_its_name():
    zone = officer_zone(Settings(timezone="Africa/Nairobi"))
    assert zone.tz == ZoneInfo("Africa/Nairobi") and zone.name == "Africa/Nairobi"
    # The CLI reads a time without a zone in the same zone.
    assert CliContext(Settings(timezone="Africa/Nairobi"), None, None).zone == zone.tz


@pytest.fixture
def machine_in_kolkata(monkeypatch):
    """The machine's own zone is Asia/Kolkata (UTC+05:30, no summer time)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_unset_it_is_the_machines_zone_named_by_its_offset(machine_in_kolkata):
    zone = officer_zone(Settings(timezone=None))
    assert zone.name == "UTC+05:30"
    assert zone.tz.utcoffset(datetime(2026, 7, 1)) == timedelta(hours=5, minutes=30)
    assert CliContext(Settings(timezone=None), None, None).zone == zone.tz
    # An empty MSAFIRI_TIMEZONE is unset too.
    assert officer_zone(Settings(timezone="")).name == "UTC+05:30"


def test_offset_names():
    assert offset_name(timedelta(0)) == "UTC"
    assert offset_name(timedelta(hours=3)) == "UTC+03:00"
    assert offset_name(-timedelta(hours=5, minutes=30)) == "UTC-05:30"


def test_a_typed_time_is_in_the_zone_unless_it_names_one():
    riyadh = ZoneInfo("Asia/Riyadh")
    assert typed_moment("2026-11-20 17:00", riyadh) == datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert typed_moment(" 2026-11-20T17:00 ", riyadh) == datetime(2026, 11, 20, 14, tzinfo=UTC)
    kept = typed_moment("2026-11-20 17:00+05:30", riyadh)
    assert kept is not None and kept.utcoffset() == timedelta(hours=5, minutes=30)
    assert kept == datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
    assert typed_moment("2026-11-20T17:00Z", riyadh) == datetime(2026, 11, 20, 17, tzinfo=UTC)
    assert typed_moment("tomorrow at five", riyadh) is None
