"""The field types every command is made of: what the boundary accepts.

Whatever a command accepts is stored for ever (events are never removed) and
must then be applied by every follower of the log: the read models on SQLite
and PostgreSQL, the fund process, the audit chain, the NATS publisher. So the
limits here are those of the weakest of them, checked once, before anything
is stored:

- PostgreSQL `text` refuses NUL, and UTF-8 cannot encode a lone surrogate:
  text never holds control characters or surrogates.
- `BIGINT` ends at 2**63 - 1, and the read models keep sums of amounts in it:
  one amount is at most 10**12 whole units of its currency (10**15 minor
  units for a currency with three decimals), 9,223 times below that end.
- Python's datetime ends at year 9999 and cannot move 0001-01-01 00:00+01:00
  to UTC: dates and times stay in 1900-01-01 .. 2100-12-31.

The rules, one line each, are in docs/domain.md ("Field rules"). Every error
names the rule in plain words; `Command.parse` puts the field's name in front
("full_name: must not contain control characters (found U+0000)").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, GetCoreSchemaHandler
from pydantic_core import core_schema

from domain.values import Money, format_minor, minor_unit_exponent, utcnow

# --- text -------------------------------------------------------------------------

LINE_MAX = 200  # one-line fields: names, places, organisations, references
REASON_MAX = 2000  # why a decision was taken
NARRATIVE_MAX = 4000  # notes, descriptions, details

# Bidirectional embeddings, overrides and isolates reorder how the text
# around them is shown ("Trojan Source"): a name could display as another
# one in a list or an audit trail. The marks (U+200E, U+200F, U+061C) only
# set the direction of neutral characters and are allowed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What str.splitlines() breaks on, besides the ordinary newline.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def clean_text(value: str, *, max_length: int, min_length: int = 0, multiline: bool = False) -> str:
    """The stored form of a text field, or ValueError saying which rule it breaks.

    NFC first (so "e" + U+0301 and "é" are the same name, and lengths count
    what a person sees), then leading and trailing white space goes, then
    every character is checked."""
    if not multiline and value.isascii() and value.isprintable():
        # Fast path (most names, ids, phones; every line of an import):
        # printable ASCII is already NFC and holds no line break, control or
        # bidirectional character, and every character but the space is
        # visible (L/N/P/S) - the same answers as the full checks below.
        value = value.strip()
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters (this is {len(value)})")
        if min_length and not value:
            raise ValueError("must not be empty")
        if len(value) < min_length:
            raise ValueError(f"must be at least {min_length} characters")
        return value
    # (pydantic itself refuses a lone surrogate in most commands, in the same words.)
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            raise ValueError("must be valid Unicode text (found a lone surrogate)")
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        value = value.replace("\u2028", "\n").replace("\u2029", "\n\n")
    value = unicodedata.normalize("NFC", value).strip()
    visible = False
    for ch in value:
        if multiline and ch in "\n\t":
            continue
        if ch in LINE_BREAKS and not multiline:
            raise ValueError(f"must be a single line (found a line break {code_point(ch)})")
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValueError(f"must not contain control characters (found {code_point(ch)})")
        if ch in BIDI_CONTROLS:
            raise ValueError(
                f"must not contain bidirectional control characters (found {code_point(ch)})"
            )
        visible = visible or category[0] in "LNPS"
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters (this is {len(value)})")
    if min_length and not visible:
        raise ValueError("must not be empty")
    if len(value) < min_length:
        raise ValueError(f"must be at least {min_length} characters")
    return value


@dataclass(frozen=True)
class TextRule:
    """Annotated[str, TextRule(...)]: a text field's rules. `max_length` is
    also what the terminal UI reads to choose a one-line or multi-line input."""

    max_length: int
    min_length: int = 0
    multiline: bool = False

    def __call__(self, value: str) -> str:
        return clean_text(
            value,
            max_length=self.max_length,
            min_length=self.min_length,
            multiline=self.multiline,
        )

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.max_length
        if self.min_length:
            json_schema["minLength"] = self.min_length
        return json_schema


# One line, required: names, places, organisations, document titles.
Text = Annotated[str, TextRule(LINE_MAX, min_length=1)]
# Free text over several lines (newline and tab allowed), may be empty.
LongText = Annotated[str, TextRule(NARRATIVE_MAX, multiline=True)]
# Why a decision was taken: a few words at least, several lines at most.
Reason = Annotated[str, TextRule(REASON_MAX, min_length=3, multiline=True)]
# A bank, payment or remittance reference.
Reference = Annotated[str, TextRule(80, min_length=3)]


@functools.cache
def _compiled(regex: str) -> re.Pattern[str]:
    # Compiled once: `re.fullmatch(text, ...)` looks its cache up on every
    # call (an import checks two or three patterns a line).
    return re.compile(regex, re.ASCII)


@dataclass(frozen=True)
class Pattern:
    """An identifier in a fixed ASCII shape (an id number, a code). The
    regular expression is ASCII-only, so "\\d" is 0-9 and never an
    Arabic-Indic or full-width digit."""

    regex: str
    rule: str
    max_length: int
    case: str = ""  # "upper" or "lower": the stored form

    def __call__(self, value: str) -> str:
        value = value.strip()
        if len(value) > self.max_length:
            raise ValueError(f"must be at most {self.max_length} characters ({self.rule})")
        if self.case == "upper":
            value = value.upper()
        elif self.case == "lower":
            value = value.lower()
        if not _compiled(self.regex).fullmatch(value):
            raise ValueError(self.rule)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self, handler(source))


@dataclass(frozen=True)
class Secret:
    """A password: checked for what it can be hashed as, never normalised
    (the hash of what was typed must match what is typed at sign-in)."""

    max_length: int
    min_length: int

    def __call__(self, value: str) -> str:
        for ch in value:
            if "\ud800" <= ch <= "\udfff":
                raise ValueError("must be valid Unicode text (found a lone surrogate)")
            if unicodedata.category(ch) == "Cc":
                raise ValueError("must not contain control characters")
        if len(value) < self.min_length:
            raise ValueError(f"must be at least {self.min_length} characters long")
        if len(value) > self.max_length:
            raise ValueError(f"must be at most {self.max_length} characters long")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self, handler(source))


# --- amounts -----------------------------------------------------------------------

# One amount is at most a trillion (10**12) whole units of its currency:
# far beyond any movement of a welfare fund (Kenya's whole national budget
# is about 4 * 10**12 KES), and for a currency with three decimals 10**15
# minor units, 9,223 times below BIGINT's end, so sums of many amounts in
# the read models (balances, totals) stay inside 64 bits.
MAX_MAJOR_UNITS = 10**12
# The largest maximum of any currency (three decimals), for amounts given
# without their currency (a contribution line, a policy cap).
MAX_MINOR_UNITS = MAX_MAJOR_UNITS * 10**3


def max_minor_units(currency: str) -> int:
    """The largest amount one command may carry in `currency`, in minor units."""
    return MAX_MAJOR_UNITS * 10 ** minor_unit_exponent(currency)


def _whole_minor_units(value: object) -> object:
    # Money is never a float: 12.5 could be a rounding of anything. Text from
    # a form or the CLI ("150000") is fine; pydantic turns it into an int.
    if isinstance(value, bool | float):
        raise ValueError("must be a whole number of minor units (e.g. cents)")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 20 or not re.fullmatch(r"-?[0-9]+", text, re.ASCII):
            raise ValueError("must be a whole number of minor units (e.g. cents)")
    return value


def _minor_units_in_range(value: int) -> int:
    if value < 0:
        raise ValueError("must not be negative")
    if value > MAX_MINOR_UNITS:
        raise ValueError(f"must be at most {MAX_MINOR_UNITS:,} minor units")
    return value


# An amount in minor units without its currency: 0 .. 10**15.
MinorUnits = Annotated[
    int, BeforeValidator(_whole_minor_units), AfterValidator(_minor_units_in_range)
]


def check_amount(money: Money) -> Money:
    """ValueError when `money` is above its currency's maximum."""
    limit = max_minor_units(money.currency)
    if money.amount_minor > limit:
        raise ValueError(f"must be at most {format_minor(limit, money.currency)} {money.currency}")
    return money


# Money as a command carries it: within its currency's maximum. (Stored
# events keep the plain `Money`, so a log written before these limits still
# reads back.)
Amount = Annotated[Money, AfterValidator(check_amount)]


# --- counters ------------------------------------------------------------------------

# A version a form was looking at, a policy version: well inside 32 bits.
MAX_COUNTER = 2**31 - 1


def _counter_in_range(value: int) -> int:
    if value > MAX_COUNTER:
        raise ValueError(f"must be at most {MAX_COUNTER:,}")
    return value


Counter = Annotated[int, AfterValidator(_counter_in_range)]


# --- dates and times ---------------------------------------------------------------

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def in_date_range(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def no_later_than_today(value: date) -> date:
    # A day of slack: an officer in Riyadh at 01:00 is already 'tomorrow' in UTC.
    if value > (utcnow() + timedelta(days=1)).date():
        raise ValueError("cannot be in the future")
    return value


def in_time_range(value: datetime) -> datetime:
    """Checked before moving to UTC: Python cannot move 0001-01-01 00:00+05:00."""
    if not EARLIEST_DATE <= value.date() <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value.astimezone(UTC)


# A calendar day in 1900-01-01 .. 2100-12-31.
Day = Annotated[date, AfterValidator(in_date_range)]
# A day no later than today (with a day of slack for time zones).
PastDate = Annotated[date, AfterValidator(in_date_range), AfterValidator(no_later_than_today)]
# A timezone-aware instant in the same range, stored in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(in_time_range)]
