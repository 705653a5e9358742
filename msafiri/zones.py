"""The officer's zone: what a date-time typed without one means, and the
zone every date-time is shown in.

One rule for the CLI and the terminal UI: a date-time without a zone is in
MSAFIRI_TIMEZONE (an IANA name, e.g. Asia/Riyadh) when it is set, else in the
machine's own zone; one typed with an offset (`+03:00`, `Z`) keeps it. Stored
instants are shown in that zone too, and the screen names it. What is stored
is UTC either way (domain/fields.py `Instant`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal

from msafiri.settings import Settings


@dataclass(frozen=True)
class OfficerZone:
    """A zone and the name people read it by (a form's label says it)."""

    tz: tzinfo
    name: str


UTC_ZONE = OfficerZone(UTC, "UTC")

# IANA's names for UTC itself: the machine's zone is then shown as plain
# "UTC" (what CI's machines have, so labels read as they always did).
_UTC_KEYS = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
    | {"GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0"}
    | {"Greenwich", "Etc/Greenwich"}
)


def officer_zone(settings: Settings) -> OfficerZone:
    """MSAFIRI_TIMEZONE (named as set), else the machine's zone."""
    if settings.timezone:
        return OfficerZone(ZoneInfo(settings.timezone), settings.timezone)
    return machine_zone()


def machine_zone(local: Callable[[], tzinfo] = tzlocal.get_localzone) -> OfficerZone:
    """The machine's zone with its rules (summer time included, unlike the
    fixed offset `datetime.now().astimezone()` gives), named by its IANA key.
    UTC, named "UTC", when the machine has none or a configuration tzlocal
    cannot read (a POSIX TZ string, conflicting files). `local` is for tests."""
    try:
        # tzlocal warns on stderr when it falls back to UTC: that would
        # scribble over the terminal UI, and the zone is named on screen anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zone = local()
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC_ZONE
    key = getattr(zone, "key", None)
    if key in _UTC_KEYS or zone is UTC:
        return UTC_ZONE
    if key and key != "local":
        return OfficerZone(zone, key)
    # A zone file with no name (/etc/localtime copied, not linked): its
    # rules are right; name it by the offset it has now.
    return OfficerZone(zone, offset_name(datetime.now(zone).utcoffset()))


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


# -- showing stored instants ---------------------------------------------------

# How much of a shown moment: its date, to the minute, to the second.
_FORMATS = {"date": "%Y-%m-%d", "minute": "%Y-%m-%d %H:%M", "second": "%Y-%m-%d %H:%M:%S"}


def in_zone(moment: str | datetime, zone: tzinfo) -> datetime | None:
    """A stored instant (aware datetime or ISO text, "Z" or an offset; one
    without an offset was stored as UTC) in `zone`; None when it is no
    date-time."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.strip())
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def shown(moment: str | datetime | None, zone: tzinfo, to: str = "minute") -> str:
    """A stored instant as the officer reads it, in their zone: to "date",
    "minute" or "second"; "-" when there is none. A calendar date stored
    as one ("2026-11-20": a value date, an expiry day) is a date anywhere
    and is shown as it is, never shifted by a zone."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str) and len(moment.strip()) == len("2026-11-20"):
        return moment.strip()
    local = in_zone(moment, zone)
    if local is None:
        return str(moment)
    return local.strftime(_FORMATS[to])
