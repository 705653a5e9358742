"""Fixtures: every behavioural test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.model import Actor
from domain.officers.commands import CreateFirstAdministrator, RegisterOfficer
from domain.values import Role
from msafiri.bootstrap import System, build_system
from msafiri.settings import Settings, parse_database_url
from projections.schema import upgrade
from tests import pg_server

# The shared administrator's password (long, not a common one: the password
# policy refuses weak ones).
ADMIN_PASSWORD = "amina keeps the admin keys"


@pytest.fixture(scope="session", autouse=True)
def master_key_file(tmp_path_factory) -> Iterator[None]:
    """Every Settings() of the run (and every CLI it starts) keeps its master
    key in a temporary file, never in the user's real config folder."""
    import os

    path = tmp_path_factory.mktemp("keys") / "master.key"
    previous = os.environ.get("MSAFIRI_KEY_FILE")
    os.environ["MSAFIRI_KEY_FILE"] = str(path)
    yield
    if previous is None:
        os.environ.pop("MSAFIRI_KEY_FILE", None)
    else:
        os.environ["MSAFIRI_KEY_FILE"] = previous


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url, cluster = pg_server.server_url()
    yield url
    if cluster:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database of each backend, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'msafiri.db'}"
        return
    server = request.getfixturevalue("pg_server_url")
    url = pg_server.create_database(server)
    # What `msafiri db upgrade` does on a new production database: on
    # PostgreSQL Msafiri refuses to run until the schema is up to date.
    upgrade(parse_database_url(url))
    try:
        yield url
    finally:
        pg_server.drop_database(server, url)


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def system(settings) -> Iterator[System]:
    system = build_system(settings)
    try:
        yield system
    finally:
        system.close()


class Officers:
    """One signed-in officer per role, registered by the first administrator."""

    def __init__(self, system: System):
        admin_id = system.officers.create_first_administrator(
            CreateFirstAdministrator(
                username="admin", full_name="Amina Admin", password=ADMIN_PASSWORD
            )
        )
        self.admin = Actor(officer_id=admin_id, role=Role.ADMINISTRATOR)
        people = {
            "registrar": ("Grace Wanjiru", Role.REGISTRATION_OFFICER),
            "attache": ("Peter Otieno", Role.LABOUR_ATTACHE),
            "attache2": ("Mary Akinyi", Role.LABOUR_ATTACHE),
            "reintegrator": ("Joseph Kamau", Role.REINTEGRATION_OFFICER),
            "fund": ("Faith Chebet", Role.FUND_OFFICER),
            "fund2": ("Daniel Mutua", Role.FUND_OFFICER),
            "auditor": ("Ruth Njeri", Role.AUDITOR),
        }
        for username, (name, role) in people.items():
            officer_id = system.officers.register(
                self.admin,
                RegisterOfficer(
                    username=username, full_name=name, station="Nairobi HQ", roles=(role,)
                ),
            )
            setattr(self, username, Actor(officer_id=officer_id, role=role))


@pytest.fixture
def officers(system) -> Officers:
    return Officers(system)


@pytest.fixture
def cheap_password_hashing(monkeypatch) -> None:
    """Real argon2 at its cheapest, for tests that sign in many times (every
    CLI command signs in): the hashing cost is not what they test. A module
    asks for it with `pytestmark = pytest.mark.usefixtures(...)`."""
    from argon2 import PasswordHasher

    import domain.officers.service

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(domain.officers.service, "_hasher", cheap)
