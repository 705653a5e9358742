"""Value types shared across the domain: roles, money, places, time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_extra_types.country import CountryAlpha2
from pydantic_extra_types.currency_code import ISO4217


def utcnow() -> datetime:
    return datetime.now(tz=UTC)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Every time Msafiri stores is timezone-aware and normalised to UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

CountryCode = CountryAlpha2
CurrencyCode = ISO4217


class Role(StrEnum):
    REGISTRATION_OFFICER = "registration_officer"
    LABOUR_ATTACHE = "labour_attache"
    REINTEGRATION_OFFICER = "reintegration_officer"
    FUND_OFFICER = "fund_officer"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"
    # Grants need-to-know access to a case and reviews break-glass uses
    # (docs/privacy.md).
    SUPERVISOR = "supervisor"
    # Requests and approves erasure (two different ones) and keeps consent
    # and retention in order (docs/encryption.md).
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    # The system itself (e.g. the fund process reacting to an assistance
    # request) acts under this role; no officer can hold it.
    SYSTEM = "system"

    @property
    def with_article(self) -> str:
        """'an auditor', 'a fund_officer': for messages that name the role."""
        return f"{'an' if self.value[0] in 'aeiou' else 'a'} {self.value}"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


def _whole_minor_units(value: object) -> object:
    # Money is never a float: 12.5 could be a rounding of anything. Text from a
    # form or the CLI ("150000") is fine; pydantic turns it into an int.
    if isinstance(value, float):
        raise ValueError("must be a whole number of minor units (e.g. cents), not a decimal")
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        raise ValueError("must be a whole number of minor units (e.g. cents)")
    return value


class Money(BaseModel):
    """An amount in integer minor units of an ISO 4217 currency. Never a float."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: Annotated[int, BeforeValidator(_whole_minor_units)] = Field(ge=0)
    currency: CurrencyCode

    def __str__(self) -> str:
        return f"{format_minor(self.amount_minor, self.currency)} {self.currency}"


# ISO 4217 minor-unit exponents that are not 2 (the Gulf's dinars have 3).
MINOR_UNIT_EXPONENTS = {
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}


def minor_unit_exponent(currency: str) -> int:
    return MINOR_UNIT_EXPONENTS.get(currency, 2)


def format_minor(amount_minor: int, currency: str) -> str:
    """Exact decimal text of an amount, e.g. 150000 KES -> '1,500.00'."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole:,}" + (f".{part:0{exponent}d}" if exponent else "")


def age_on(date_of_birth: date, on: date) -> int:
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def age_band(date_of_birth: date, on: date) -> str:
    """Age bands used in the statistics the seeds ask for."""
    age = age_on(date_of_birth, on)
    for upper, label in ((24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54")):
        if age <= upper:
            return label if age >= 18 else "under-18"
    return "55+"


# Kenya's 47 counties (Constitution of Kenya 2010, First Schedule), the home
# areas a registration officer records.
KENYA_COUNTIES = (
    "Mombasa",
    "Kwale",
    "Kilifi",
    "Tana River",
    "Lamu",
    "Taita-Taveta",
    "Garissa",
    "Wajir",
    "Mandera",
    "Marsabit",
    "Isiolo",
    "Meru",
    "Tharaka-Nithi",
    "Embu",
    "Kitui",
    "Machakos",
    "Makueni",
    "Nyandarua",
    "Nyeri",
    "Kirinyaga",
    "Murang'a",
    "Kiambu",
    "Turkana",
    "West Pokot",
    "Samburu",
    "Trans Nzoia",
    "Uasin Gishu",
    "Elgeyo-Marakwet",
    "Nandi",
    "Baringo",
    "Laikipia",
    "Nakuru",
    "Narok",
    "Kajiado",
    "Kericho",
    "Bomet",
    "Kakamega",
    "Vihiga",
    "Bungoma",
    "Busia",
    "Siaya",
    "Kisumu",
    "Homa Bay",
    "Migori",
    "Kisii",
    "Nyamira",
    "Nairobi",
)


_COUNTY_BY_KEY = {county.lower(): county for county in KENYA_COUNTIES}


def _known_county(value: str) -> str:
    # One dict look-up, not 47 comparisons: imports check a county per line.
    county = _COUNTY_BY_KEY.get(value.strip().lower())
    if county is None:
        raise ValueError("must be one of Kenya's 47 counties, e.g. Kakamega")
    return county


County = Annotated[str, AfterValidator(_known_county)]
