"""The demo's officer accounts: one per role, with a published password.

Only for demo databases: the password is in the README on purpose, and the
officer service accepts it only for these `demo.` accounts in a database the
demo's administrator installed (domain/officers/passwords.py).
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import NotFound
from domain.ids import INSTALLATION_ID, officer_id
from domain.model import Actor, recording_time
from domain.officers.commands import CreateFirstAdministrator, RegisterOfficer
from domain.officers.passwords import DEMO_ADMINISTRATOR, DEMO_PASSWORD
from domain.values import Role
from msafiri.bootstrap import System
from msafiri.demo.population import DEMO_TODAY, history_start

DEMO_OFFICERS = {
    # key: (username, full name, station, role)
    "registrar": ("demo.registrar", "Grace Wanjiru", "NEA Nairobi", Role.REGISTRATION_OFFICER),
    "attache": ("demo.attache", "Peter Otieno", "Embassy Riyadh", Role.LABOUR_ATTACHE),
    "attache2": ("demo.attache2", "Mary Akinyi", "Consulate Dubai", Role.LABOUR_ATTACHE),
    "reintegrator": (
        "demo.reintegration",
        "Joseph Kamau",
        "NEA Kakamega",
        Role.REINTEGRATION_OFFICER,
    ),
    "fund": ("demo.fund", "Faith Chebet", "Fund Secretariat", Role.FUND_OFFICER),
    "fund2": ("demo.fund2", "Daniel Mutua", "Fund Secretariat", Role.FUND_OFFICER),
    "auditor": ("demo.auditor", "Ruth Njeri", "Office of the Auditor-General", Role.AUDITOR),
    "supervisor": ("demo.supervisor", "Esther Wambui", "NEA Nairobi", Role.SUPERVISOR),
    "dpo": ("demo.dpo", "Samuel Kiprop", "Data Protection Office", Role.DATA_PROTECTION_OFFICER),
    "dpo2": ("demo.dpo2", "Lucy Atieno", "Data Protection Office", Role.DATA_PROTECTION_OFFICER),
}


# Events that creating the demo accounts writes (admin: 3, each officer: 2).
DEMO_ACCOUNT_EVENTS = 3 + 2 * len(DEMO_OFFICERS)


class NotADemoDatabase(Exception):
    pass


def ensure_demo_officers(system: System, at: datetime | None = None) -> dict[str, Actor]:
    """Create (or find) the demo accounts. Refuses a database whose first
    administrator is not the demo's: demo data never goes into real books.
    The accounts are recorded as made at `at` (default: when the demo's
    history starts), before anything they record."""
    token = recording_time.set(at or history_start(DEMO_TODAY))
    try:
        return _ensure_demo_officers(system)
    finally:
        recording_time.reset(token)


def _ensure_demo_officers(system: System) -> dict[str, Actor]:
    admin_id = officer_id(DEMO_ADMINISTRATOR)
    if not system.store.exists(INSTALLATION_ID):
        system.officers.create_first_administrator(
            CreateFirstAdministrator(
                username=DEMO_ADMINISTRATOR, full_name="Amina Hassan (demo)", password=DEMO_PASSWORD
            )
        )
    elif system.store.get(INSTALLATION_ID).first_administrator_id != admin_id:
        raise NotADemoDatabase(
            "this database belongs to a real installation; run the demo on an empty database "
            "(e.g. MSAFIRI_DATABASE_URL=sqlite:///demo.db)"
        )
    admin = Actor(officer_id=admin_id, role=Role.ADMINISTRATOR)
    actors = {"admin": admin}
    for key, (username, full_name, station, role) in DEMO_OFFICERS.items():
        try:
            system.officers.get(username)
        except NotFound:
            system.officers.register(
                admin,
                RegisterOfficer(
                    username=username,
                    full_name=full_name,
                    station=station,
                    roles=(role,),
                    password=DEMO_PASSWORD,
                ),
            )
        actors[key] = Actor(officer_id=officer_id(username), role=role)
    return actors
