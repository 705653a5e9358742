"""The officer's zone (msafiri/zones.py): one rule for the CLI and the TUI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError

import pytest
import tzlocal

from msafiri.cli.context import CliContext
from msafiri.settings import Settings
from msafiri.zones import (
    UTC_ZONE,
    machine_zone,
    officer_zone,
    offset_name,
    shown,
    typed_moment,
)


def test_msafiri_timezone_is_the_zone_and_its_name():
    zone = officer_zone(Settings(timezone="Africa/Nairobi"))
    assert zone.tz == ZoneInfo("Africa/Nairobi") and zone.name == "Africa/Nairobi"
    # The CLI reads a time without a zone in the same zone.
    assert CliContext(Settings(timezone="Africa/Nairobi"), None, None).zone == zone.tz


def _machine_in(monkeypatch, name: str) -> None:
    """The machine's own zone is `name` (TZ, as a server's environment sets it)."""
    monkeypatch.setenv("TZ", name)
    time.tzset()
    tzlocal.reload_localzone()


@pytest.fixture
def machine_zone_reset(monkeypatch):
    yield
    monkeypatch.undo()
    time.tzset()
    tzlocal.reload_localzone()  # tzlocal keeps the zone it found: forget Berlin


def test_unset_it_is_the_machines_zone_named_by_its_iana_key(monkeypatch, machine_zone_reset):
    _machine_in(monkeypatch, "Asia/Kolkata")
    zone = officer_zone(Settings(timezone=None))
    assert zone.name == "Asia/Kolkata"
    assert zone.tz.utcoffset(datetime(2026, 7, 1)) == timedelta(hours=5, minutes=30)
    assert CliContext(Settings(timezone=None), None, None).zone == zone.tz
    # An empty MSAFIRI_TIMEZONE is unset too.
    assert officer_zone(Settings(timezone="")).name == "Asia/Kolkata"


def test_the_machines_zone_keeps_its_summer_time(monkeypatch, machine_zone_reset):
    """Berlin is UTC+1 in winter and UTC+2 in summer (from 2027-03-28 02:00):
    a time typed for either side of the change gets that day's offset, not
    the offset the machine has today."""
    _machine_in(monkeypatch, "Europe/Berlin")
    zone = officer_zone(Settings(timezone=None))
    assert zone.name == "Europe/Berlin"
    before = typed_moment("2027-03-27 09:30", zone.tz)
    after = typed_moment("2027-03-29 09:30", zone.tz)
    assert before == datetime(2027, 3, 27, 8, 30, tzinfo=UTC)
    assert after == datetime(2027, 3, 29, 7, 30, tzinfo=UTC)
    # And a stored instant is shown with the offset of its own day.
    assert shown("2027-03-27T08:30:00Z", zone.tz) == "2027-03-27 09:30"
    assert shown("2027-03-29T07:30:00+00:00", zone.tz) == "2027-03-29 09:30"


def test_the_machines_zone_injected():
    """As above without touching the process's TZ: the zone tzlocal would give."""
    zone = machine_zone(lambda: ZoneInfo("America/New_York"))
    assert zone.name == "America/New_York"
    # 2026-11-01 02:00 New York time is the end of summer time (EDT -> EST).
    assert typed_moment("2026-10-31 12:00", zone.tz) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert typed_moment("2026-11-02 12:00", zone.tz) == datetime(2026, 11, 2, 17, tzinfo=UTC)


def test_no_zone_on_the_machine_is_utc_named_utc():
    def unreadable():
        raise ZoneInfoNotFoundError("tzlocal() does not support non-zoneinfo timezones")

    assert machine_zone(unreadable) == UTC_ZONE and UTC_ZONE.name == "UTC"
    # tzlocal's own fallback (and a machine set to UTC, like CI's) reads "UTC".
    for key in ("Etc/UTC", "UTC", "Etc/UCT"):
        assert machine_zone(lambda key=key: ZoneInfo(key)) == UTC_ZONE
    # A zone file with no name (/etc/localtime copied): its rules, its offset now.
    [path] = [p for p in (Path(d) / "Asia/Riyadh" for d in TZPATH) if p.exists()][:1]
    with path.open("rb") as file:
        unnamed = ZoneInfo.from_file(file, key="local")
    assert machine_zone(lambda: unnamed).name == "UTC+03:00"


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


def test_stored_instants_are_shown_in_the_zone():
    riyadh = ZoneInfo("Asia/Riyadh")
    assert shown("2026-11-20T06:30:00.123456Z", riyadh) == "2026-11-20 09:30"
    assert shown(datetime(2026, 11, 20, 6, 30, 5, tzinfo=UTC), riyadh, "second") == (
        "2026-11-20 09:30:05"
    )
    # A stored instant's date is the officer's date: 22:00 UTC is tomorrow in Riyadh.
    assert shown("2026-11-20T22:00:00+00:00", riyadh, "date") == "2026-11-21"
    # One stored without an offset is UTC; a calendar date is never shifted.
    assert shown("2026-11-20T06:30:00", riyadh) == "2026-11-20 09:30"
    assert shown("2026-11-20", riyadh) == "2026-11-20"
    assert shown(None, riyadh) == shown("", riyadh) == "-"


def test_a_browsers_app_process_keeps_the_servers_zone(monkeypatch):
    """`msafiri serve` runs the TUI once per browser tab, in the server's
    environment: its MSAFIRI_TIMEZONE (and TZ) reach every app process, so a
    browser officer's screens follow the same rule and name the zone."""
    from msafiri.serve.app_process import BrowserAppProcess

    monkeypatch.setenv("MSAFIRI_TIMEZONE", "Asia/Riyadh")
    monkeypatch.setenv("TZ", "Europe/Berlin")

    async def nothing(*_):
        return None

    process = BrowserAppProcess(
        write_bytes=nothing,
        write_str=nothing,
        close=nothing,
        download_manager=None,
        client_address="192.0.2.7",
    )
    environment = process._build_environment()
    assert environment["MSAFIRI_TIMEZONE"] == "Asia/Riyadh" and environment["TZ"] == "Europe/Berlin"
