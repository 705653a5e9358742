"""Small builders for test narratives: valid commands with overridable fields."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.cases import commands as c
from domain.values import utcnow

TODAY = utcnow().date()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def today() -> date:
    """Today's date (UTC) as the code's clock reads it now. For a value
    checked against that clock ("not in the future", "not before the fund
    opened" by a fund opened in the test): TODAY is fixed at import, a day
    behind once a run crosses midnight UTC."""
    return utcnow().date()


def registration(**overrides: Any) -> c.RegisterMigrant:
    fields: dict[str, Any] = {
        "full_name": "Wanjiku Mwangi",
        "sex": "female",
        "date_of_birth": "1996-04-12",
        "national_id": "31234567",
        "passport_number": "AK1234567",
        "phone": "+254712345678",
        "county": "Kakamega",
        "education": "secondary",
        "skills": ["housekeeping", "childcare"],
        "registered_on": days_ago(400),
    }
    fields.update(overrides)
    return c.RegisterMigrant.parse(fields)


def contract(migrant_id: UUID, **overrides: Any) -> c.RegisterContract:
    fields: dict[str, Any] = {
        "migrant_id": migrant_id,
        "destination_country": "SA",
        "employer_name": "Al-Harbi household",
        "recruitment_agency": "Nairobi Gulf Recruiters Ltd",
        "sector": "domestic_work",
        "job_title": "Housemaid",
        "monthly_wage": {"amount_minor": 150000, "currency": "SAR"},
        "starts_on": days_ago(360),
        "ends_on": days_ago(360) + timedelta(days=730),
    }
    fields.update(overrides)
    return c.RegisterContract.parse(fields)


def send_abroad(system, officers, **registration_overrides: Any) -> UUID:
    """Register a migrant and take them through pre-departure to arrival."""
    migrant_id = system.cases.register(officers.registrar, registration(**registration_overrides))
    cases = system.cases
    cases.execute(
        officers.registrar,
        c.CompleteOrientation(
            migrant_id=migrant_id,
            provider="NITA Kakamega",
            certificate_number="PDO-2025-0042",
            completed_on=days_ago(380),
        ),
    )
    cases.execute(officers.registrar, contract(migrant_id))
    cases.execute(
        officers.registrar,
        c.StartMembership(
            migrant_id=migrant_id,
            membership_number="MWF-000042",
            starts_on=days_ago(370),
            ends_on=days_ago(370) + timedelta(days=730),
        ),
    )
    cases.execute(
        officers.registrar, c.RecordDeparture(migrant_id=migrant_id, departed_on=days_ago(360))
    )
    cases.execute(
        officers.attache, c.RecordArrival(migrant_id=migrant_id, arrived_on=days_ago(359))
    )
    return migrant_id
