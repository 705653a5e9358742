"""Fixtures for the terminal UI: a fresh database per test, on SQLite and on a
real PostgreSQL (the `database_url` fixture of tests/conftest.py, so the same
stories run on both backends), officers who can sign in, and helpers to drive
the UI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from domain.officers.commands import SetPassword
from msafiri.bootstrap import System, build_system
from msafiri.settings import Settings
from tests.conftest import Officers
from tui.app.app import MsafiriApp

PASSWORD = "correct horse battery"
SIZE = (120, 40)
USERNAMES = ("registrar", "attache", "attache2", "reintegrator", "fund", "fund2", "auditor")


def pytest_collection_modifyitems(config, items):
    """A background thread that dies (the read models' follower, a worker) fails
    the UI test it happened in: an app left without its follower looks fine
    for a while and then shows stale screens."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(
                pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
            )


@pytest.fixture(autouse=True)
def cheap_hashing_in_every_ui_test(cheap_password_hashing) -> None:
    """The UI tests sign in many times (tests/conftest.py)."""


@pytest.fixture
def system(database_url) -> Iterator[System]:
    system = build_system(Settings(database_url=database_url))
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def officers(system) -> Officers:
    """The shared officers, each with a password so they can sign in."""
    people = Officers(system)
    for username in USERNAMES:
        system.officers.set_password(
            # Each sets their own: an administrator's reset would make them
            # change it at their first sign-in.
            getattr(people, username),
            SetPassword(username=username, password=PASSWORD),
        )
    return people


def make_app(system: System) -> MsafiriApp:
    # No background follower: tests catch the read models up explicitly.
    return MsafiriApp(system=system, blink=False, follow=False)


async def settle(pilot) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def fill(screen, **values) -> None:
    """Type values into a command form: text into inputs, choices into selects.
    Money is a dict: {"amount": "1,200.50", "currency": "KES"} as a person types
    it, or {"amount_minor": 120050, "currency": "KES"} typed as its major units."""
    from textual.widgets import Checkbox, Select, TextArea

    from domain.amounts import minor_to_major_text

    for name, value in values.items():
        if isinstance(value, dict):  # money
            amount = value.get("amount")
            if amount is None:
                amount = minor_to_major_text(value["amount_minor"], value["currency"])
            screen.query_one(f"#f-{name}-amount").value = amount
            screen.query_one(f"#f-{name}-currency").value = value["currency"]
            continue
        widget = screen.query_one(f"#f-{name}")
        if isinstance(widget, Select | Checkbox):
            widget.value = value
        elif isinstance(widget, TextArea):
            widget.load_text(str(value))
        else:
            widget.value = str(value)


@asynccontextmanager
async def signed_in(system: System, username: str, *, case: Any = None):
    """The app (read models caught up) signed in as `username`, on the case's
    screen when `case` is given: yields (app, pilot)."""
    from tui.app.screens.case_view import CaseScreen

    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, username)
        if case is not None:
            app.push_screen(CaseScreen(case))
            await settle(pilot)
        yield app, pilot


async def sign_in(pilot, username: str, password: str = PASSWORD) -> None:
    screen = pilot.app.screen
    screen.query_one("#username").value = username
    screen.query_one("#password").value = password
    await pilot.click("#sign-in")
    await settle(pilot)


def cells(table, index: int) -> list[str]:
    """What a person reads in a table row (cells from data are rich Text)."""
    return [str(cell) for cell in table.get_row_at(index)]
