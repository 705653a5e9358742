"""Money as people type and read it: major units with the currency's own
decimals ("1,200.50 KES"), never minor units.

Storage keeps integer minor units (domain.values.Money); this module is the
one place that turns what an officer types into minor units and back, for
the terminal UI and the CLI alike. The decimals per currency are ISO 4217's
minor-unit exponents (domain.values.MINOR_UNIT_EXPONENTS: the Gulf dinars
have 3, the yen and the Rwandan and Ugandan shillings 0, the rest 2).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from domain.values import format_minor, minor_unit_exponent

# Digits with optional thousands separators (commas, thin or plain spaces,
# underscores), then optionally a point and decimals.
_GROUPED = re.compile(r"^\d{1,3}([, _\u202f\u00a0]\d{3})*(\.\d*)?$|^\d+(\.\d*)?$|^\.\d+$")


def decimals(currency: str) -> int:
    """How many decimals the currency has (2 unless ISO 4217 says otherwise)."""
    return minor_unit_exponent(currency.strip().upper())


def parse_major(text: str, currency: str) -> int:
    """'1,200.50' KES -> 120050; '12.345' BHD -> 12345; '1200' JPY -> 1200.

    Raises ValueError with a one-line rule: not a number, negative, or more
    decimals than the currency has ("KES has 2 decimals")."""
    currency = currency.strip().upper()
    raw = text.strip()
    if not raw:
        raise ValueError("give an amount, e.g. 1,200.50")
    if raw.startswith("-"):
        raise ValueError("cannot be negative")
    if not _GROUPED.match(raw):
        raise ValueError(f"not an amount: {raw!r} (write it like 1,200.50)")
    digits = re.sub(r"[, _\u202f\u00a0]", "", raw)
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"not an amount: {raw!r} (write it like 1,200.50)") from None
    places = decimals(currency)
    given = len(digits.partition(".")[2].rstrip("0"))
    if given > places:
        unit = "no decimals" if places == 0 else f"{places} decimal{'s' if places > 1 else ''}"
        raise ValueError(f"{currency or 'the currency'} has {unit}")
    return int(value.scaleb(places))


def format_major(amount_minor: int, currency: str) -> str:
    """120050 KES -> '1,200.50 KES': what people read."""
    return f"{format_minor(amount_minor, currency)} {currency}"


def minor_to_major_text(amount_minor: int, currency: str) -> str:
    """120050 KES -> '1200.50': the amount as a person would type it back."""
    return format_minor(amount_minor, currency).replace(",", "")
