"""Money as people type and read it: major units, the currency's own decimals."""

from __future__ import annotations

import pytest

from domain.amounts import decimals, format_major, minor_to_major_text, parse_major


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("1,200.50", "KES", 120050),
        ("1200.5", "KES", 120050),
        ("1 200.50", "kes", 120050),
        ("0.05", "USD", 5),
        ("120,000", "SAR", 12000000),
        ("12.345", "BHD", 12345),
        ("0.5", "KWD", 500),
        ("1.000", "OMR", 1000),
        ("1200", "JPY", 1200),
        ("1,200", "JPY", 1200),
        ("1200.00", "JPY", 1200),  # zeros past the point add nothing
    ],
)
def test_what_a_person_types_becomes_minor_units(typed, currency, minor):
    assert parse_major(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "rule"),
    [
        ("12.345", "KES", "KES has 2 decimals"),
        ("1.5", "JPY", "JPY has no decimals"),
        ("1.2345", "BHD", "BHD has 3 decimals"),
        ("-5", "KES", "cannot be negative"),
        ("1,20.50", "KES", "not an amount"),
        ("12e3", "KES", "not an amount"),
        ("", "KES", "give an amount"),
    ],
)
def test_what_cannot_be_an_amount_is_refused_with_its_rule(typed, currency, rule):
    with pytest.raises(ValueError, match=rule):
        parse_major(typed, currency)


def test_amounts_read_back_in_major_units_with_the_currency():
    assert format_major(12000000, "KES") == "120,000.00 KES"
    assert format_major(12345, "BHD") == "12.345 BHD"
    assert format_major(1200, "JPY") == "1,200 JPY"
    assert minor_to_major_text(120050, "KES") == "1200.50"
    assert (decimals("KES"), decimals("SAR"), decimals("AED"), decimals("USD")) == (2, 2, 2, 2)
    assert (decimals("BHD"), decimals("KWD"), decimals("OMR"), decimals("JOD")) == (3, 3, 3, 3)
    assert decimals("JPY") == 0


def test_what_is_typed_and_what_is_read_agree():
    for minor in (0, 1, 99, 100, 120050, 987654321):
        for currency in ("KES", "BHD", "JPY"):
            assert parse_major(format_major(minor, currency).split()[0], currency) == minor
