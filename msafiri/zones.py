"""The officer's zone: what a date-time typed without one means.

One rule for the CLI and the terminal UI: a date-time without a zone is in
MSAFIRI_TIMEZONE (an IANA name, e.g. Asia/Riyadh) when it is set, else in the
machine's own zone; one typed with an offset (`+03:00`, `Z`) keeps it. What
is stored is UTC either way (domain/fields.py `Instant`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from msafiri.settings import Settings


@dataclass(frozen=True)
class OfficerZone:
    """A zone and the name people read it by (a form's label says it)."""

    tz: tzinfo
    name: str


UTC_ZONE = OfficerZone(UTC, "UTC")


def officer_zone(settings: Settings) -> OfficerZone:
    """MSAFIRI_TIMEZONE (named as set), else the machine's zone (named by its
    offset from UTC, e.g. "UTC+03:00": the offset it has now)."""
    if settings.timezone:
        return OfficerZone(ZoneInfo(settings.timezone), settings.timezone)
    local = datetime.now().astimezone()
    return OfficerZone(local.tzinfo or UTC, offset_name(local.utcoffset()))


def offset_name(offset: timedelta | None) -> str:
    """An offset as people read it: "UTC", "UTC+03:00", "UTC-05:30"."""
    if not offset:
        return "UTC"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def typed_moment(text: str, zone: tzinfo) -> datetime | None:
    """A date-time as typed ("2026-11-20 09:30", "2026-11-20T09:30+03:00"), in
    `zone` when it names none; None when it is not a date-time (the
    command's own rule then names the problem)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
