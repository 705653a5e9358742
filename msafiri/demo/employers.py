"""The demo's employer and agency registries (issue 16): every employer and
agency a demo contract names is registered first, at the start of the
history, and the contracts refer to them by id.

Ids are derived from the names (uuid5), so the worker processes that build
the population compute the same id without sharing any state, and the
random draws of the population are the ones it made before the registries
existed (the same seed gives the same people).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid5

from domain.employers import commands as ec
from domain.employers import events as ee
from domain.employers.aggregate import Agency, Employer, RegistryKey
from domain.employers.service import registry_key
from domain.employers.vocabulary import name_key
from domain.ids import MSAFIRI_NAMESPACE
from domain.model import Actor, Aggregate, recording_time
from domain.persistence import EventStore
from msafiri.demo import vocabulary as v

CITIES = {
    "SA": "Riyadh",
    "AE": "Dubai",
    "QA": "Doha",
    "KW": "Kuwait City",
    "OM": "Muscat",
    "BH": "Manama",
    "LB": "Beirut",
    "JO": "Amman",
    "IQ": "Erbil",
}
HOUSEHOLD_SECTORS = ("domestic_work", "care_work")


def employer_name(family: str, sector: str) -> str:
    return f"{family} " + ("household" if sector in HOUSEHOLD_SECTORS else "Trading Co.")


def employer_id(country: str, name: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"demo:employer:{country}:{name}")


def agency_id(name: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"demo:agency:{name}")


def ensure_demo_registry(store: EventStore, actors: dict[str, Actor], start: datetime) -> bool:
    """Register the demo's employers and agencies at `start` (once: False
    when they are there already)."""
    if store.exists(agency_id(v.AGENCIES[0])):
        return False
    registrar = actors["registrar"]
    token = recording_time.set(start)
    try:
        saved: list[Aggregate] = []
        for number, name in enumerate(v.AGENCIES, start=1):
            cmd = ec.RegisterAgency(
                agency_id=agency_id(name),
                name=name,
                licence_number=f"NEA/PREA/{number:04d}",
                licensing_country="KE",
                licence_valid_from=start.date() - timedelta(days=365),
                licence_valid_until=start.date() + timedelta(days=365 * 8),
            )
            saved.append(Agency.register(registrar, cmd))
            for what, key in (
                ("agency name", registry_key("agency", "KE", name_key(name))),
                ("licence number", registry_key("agency-licence", "KE", cmd.licence_number)),
            ):
                saved.append(
                    RegistryKey.start(
                        key, ee.RegistryKeyClaimed, registrar, party_id=cmd.agency_id, what=what
                    )
                )
        for country, city in CITIES.items():
            for family in v.EMPLOYER_FAMILIES:
                for sector, kind in (("domestic_work", "household"), ("retail", "company")):
                    name = employer_name(family, sector)
                    cmd = ec.RegisterEmployer(
                        employer_id=employer_id(country, name),
                        name=name,
                        kind=kind,
                        country=country,
                        city=city,
                        sector=sector,
                    )
                    saved.append(Employer.register(registrar, cmd))
                    key = registry_key("employer", country, name_key(city), name_key(name))
                    saved.append(
                        RegistryKey.start(
                            key,
                            ee.RegistryKeyClaimed,
                            registrar,
                            party_id=cmd.employer_id,
                            what="employer name",
                        )
                    )
        store.save_all(*saved)
    finally:
        recording_time.reset(token)
    return True
