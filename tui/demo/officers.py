"""The demo's officer accounts: one per role, with a published password.

Only for demo databases: the password is in the README on purpose.
"""

from __future__ import annotations

from domain.errors import NotFound
from domain.ids import INSTALLATION_ID, officer_id
from domain.model import Actor
from domain.officers.commands import CreateFirstAdministrator, RegisterOfficer
from domain.values import Role
from tui.bootstrap import System

DEMO_PASSWORD = "msafiri-demo"

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
}


# Events that creating the demo accounts writes (admin: 3, each officer: 2).
DEMO_ACCOUNT_EVENTS = 3 + 2 * len(DEMO_OFFICERS)


class NotADemoDatabase(Exception):
    pass


def ensure_demo_officers(system: System) -> dict[str, Actor]:
    """Create (or find) the demo accounts. Refuses a database whose first
    administrator is not the demo's: demo data never goes into real books."""
    admin_id = officer_id("demo.admin")
    if not system.store.exists(INSTALLATION_ID):
        system.officers.create_first_administrator(
            CreateFirstAdministrator(
                username="demo.admin", full_name="Amina Hassan (demo)", password=DEMO_PASSWORD
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
