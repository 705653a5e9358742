"""Builders for the employer and agency registry tests (issue 16)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.cases import commands as c
from domain.employers import commands as ec
from domain.model import Actor
from domain.officers.commands import RegisterOfficer
from domain.values import Role
from tests.factories import days_ago, registration


def supervisor(system, officers) -> Actor:
    officer_id = system.officers.register(
        officers.admin,
        RegisterOfficer(
            username="super",
            full_name="Sam Supervisor",
            station="Nairobi HQ",
            roles=("supervisor",),
        ),
    )
    return Actor(officer_id=officer_id, role=Role.SUPERVISOR)


def employer(system, actor, **overrides: Any) -> UUID:
    fields: dict[str, Any] = {
        "name": "Al-Harbi household",
        "kind": "household",
        "country": "SA",
        "city": "Riyadh",
        "sector": "domestic_work",
    }
    fields.update(overrides)
    return system.employers.register_employer(actor, ec.RegisterEmployer.parse(fields))


def agency(system, actor, **overrides: Any) -> UUID:
    fields: dict[str, Any] = {
        "name": "Nairobi Gulf Recruiters Ltd",
        "licence_number": "PREA-0042",
        "licensing_country": "KE",
        "licence_valid_from": days_ago(700),
        "licence_valid_until": days_ago(-300),
    }
    fields.update(overrides)
    return system.employers.register_agency(actor, ec.RegisterAgency.parse(fields))


def oriented_migrant(system, officers, **overrides: Any) -> UUID:
    migrant_id = system.cases.register(officers.registrar, registration(**overrides))
    system.cases.execute(
        officers.registrar,
        c.CompleteOrientation(
            migrant_id=migrant_id,
            provider="NITA Kakamega",
            certificate_number="PDO-2025-0042",
            completed_on=days_ago(380),
        ),
    )
    return migrant_id


def contract_with(migrant_id: UUID, **overrides: Any) -> c.RegisterContract:
    fields: dict[str, Any] = {
        "migrant_id": migrant_id,
        "destination_country": "SA",
        "sector": "domestic_work",
        "job_title": "Housemaid",
        "monthly_wage": {"amount_minor": 150000, "currency": "SAR"},
        "starts_on": days_ago(360),
        "ends_on": days_ago(360) + timedelta(days=730),
    }
    fields.update(overrides)
    return c.RegisterContract.parse(fields)


def list_party(system, maker: Actor, checker: Actor, party_id: UUID, reason: str = "abuse") -> None:
    system.employers.execute(maker, ec.ProposeListing(party_id=party_id, reason=reason))
    system.employers.execute(checker, ec.ApproveWatchlistChange(party_id=party_id))
