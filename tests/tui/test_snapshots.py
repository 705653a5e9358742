"""SVG snapshots of the main screens (fixed size, no cursor blink).

The data is the seeded demo population, built once per module with the
clock frozen, so ids, names, amounts and recorded times are the same on
every run and every day.

Update deliberately with `uv run pytest tests/tui --snapshot-update` and
look at the SVGs before committing them.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.values import Role
from tests.tui.conftest import make_app, settle
from tui.app.session import Session
from tui.bootstrap import build_system
from tui.settings import Settings

# Later than every day the demo records (tui/demo/population.py DEMO_TODAY).
FROZEN_NOW = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
DEMO_MIGRANTS = 300
SNAPSHOT_SIZE = (120, 36)


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    """SQLite only, here: a screen's picture does not depend on the backend
    (the read models answer the same on both; every Pilot story in tests/tui
    runs on SQLite and PostgreSQL), and one picture per screen is enough."""
    yield f"sqlite:///{tmp_path / 'msafiri.db'}"


def test_sign_in_screen(snap_compare, system, officers):
    assert snap_compare(make_app(system), terminal_size=(100, 30))


def test_first_run_screen(snap_compare, system):
    assert snap_compare(make_app(system), terminal_size=(100, 40))


def freeze_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `utcnow` our code calls (modules import it by name) returns FROZEN_NOW."""
    import domain.values
    import ledger.demo
    import ledger.process  # noqa: F401
    import tui.demo.population  # noqa: F401

    real = domain.values.utcnow
    for name, module in list(sys.modules.items()):
        ours = name.split(".")[0] in ("domain", "ledger", "projections", "tui")
        if ours and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", lambda: FROZEN_NOW)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """A seeded demo with a fund, read models current: built once, copied per test."""
    from ledger.demo import populate_fund
    from tui.demo.officers import ensure_demo_officers
    from tui.demo.population import populate

    path = tmp_path_factory.mktemp("demo") / "msafiri.db"
    with pytest.MonkeyPatch.context() as monkeypatch:
        freeze_clock(monkeypatch)
        system = build_system(Settings(database_url=f"sqlite:///{path}"))
        try:
            actors = ensure_demo_officers(system)
            rng = populate(system.store, actors, DEMO_MIGRANTS, seed=2026, workers=0)
            populate_fund(system, rng, actors, progress=lambda n: None)
            system.keep_current()
            waiting_requests(system, actors["attache"])
            system.keep_current()
        finally:
            system.close()
    return path


def waiting_requests(system, attache) -> None:
    """A few requests for the approval queue (the seeded demo decides most
    of its own): medical care on the first open incidents, fixed ids."""
    from domain.values import Money
    from ledger.commands import RequestDisbursement

    incidents = system.read_models.queries.db.fetchall(
        "SELECT incident_id, migrant_id FROM rm_incidents WHERE is_open = 1 "
        "ORDER BY incident_id LIMIT 3"
    )
    for number, (incident_id, migrant_id) in enumerate(incidents, start=1):
        system.ledger.request_disbursement(
            attache,
            RequestDisbursement(
                command_id=UUID(int=number),
                migrant_id=UUID(migrant_id),
                incident_id=UUID(incident_id),
                category="medical",
                amount=Money(amount_minor=number * 2_500_000, currency="KES"),
                payee="Kings Faisal Hospital",
                justification="Treatment after the incident.",
            ),
        )


@pytest.fixture
def demo_system(demo_file, tmp_path):
    copy = tmp_path / "msafiri.db"
    shutil.copy(demo_file, copy)
    system = build_system(Settings(database_url=f"sqlite:///{copy}"))
    yield system
    system.close()


def signed_in(system, username: str, role: Role):
    """The app with an officer's session, as after signing in (without the
    welcome toast, which would be in the picture)."""
    app = make_app(system)
    app.clock = lambda: FROZEN_NOW
    officer = next(o for o in system.read_models.queries.officers() if o.username == username)
    app.session = Session(
        UUID(officer.officer_id), username, officer.full_name, officer.station, role
    )
    app.sub_title = app.session.label
    return app


def busiest_case(system) -> UUID:
    """The case with the most to show: incidents and fund requests."""
    row = system.read_models.queries.db.fetchone(
        "SELECT c.migrant_id FROM rm_cases c "
        "JOIN rm_disbursements d ON d.migrant_id = c.migrant_id "
        "GROUP BY c.migrant_id, c.case_number ORDER BY COUNT(*) DESC, c.case_number LIMIT 1"
    )
    return UUID(row[0])


def test_case_view_screen(snap_compare, demo_system):
    from tui.app.screens.case_view import CaseScreen

    app = signed_in(demo_system, "demo.attache", Role.LABOUR_ATTACHE)
    migrant_id = busiest_case(demo_system)

    async def open_case(pilot):
        await app.switch_screen(CaseScreen(migrant_id))
        await settle(pilot)

    assert snap_compare(app, terminal_size=SNAPSHOT_SIZE, run_before=open_case)


def test_approval_queue_screen(snap_compare, demo_system):
    from tui.app.screens.fund import FundHomeScreen

    app = signed_in(demo_system, "demo.fund", Role.FUND_OFFICER)
    assert demo_system.read_models.queries.approval_queue().rows  # something to decide

    async def open_queue(pilot):
        await app.switch_screen(FundHomeScreen())
        await settle(pilot)
        await settle(pilot)  # the request detail loads after the queue

    assert snap_compare(app, terminal_size=SNAPSHOT_SIZE, run_before=open_queue)


def test_statistics_screen(snap_compare, demo_system):
    from tui.app.screens.statistics import StatisticsScreen

    app = signed_in(demo_system, "demo.reintegration", Role.REINTEGRATION_OFFICER)

    async def open_statistics(pilot):
        await app.switch_screen(StatisticsScreen())
        await settle(pilot)

    assert snap_compare(app, terminal_size=SNAPSHOT_SIZE, run_before=open_statistics)


def test_timeline_event_screen(snap_compare, demo_system):
    """One timeline event in full, over the case (enter on its row)."""
    from textual.widgets import DataTable

    from tui.app.screens.case_view import CaseScreen

    app = signed_in(demo_system, "demo.attache", Role.LABOUR_ATTACHE)
    migrant_id = busiest_case(demo_system)

    async def open_event(pilot):
        await app.switch_screen(CaseScreen(migrant_id))
        await settle(pilot)
        case = app.screen
        [paid] = [e for e in case.timeline.values() if e.event_type == "DisbursementPaid"][:1]
        table = case.query_one("#timeline", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(paid.notification_id)))
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SNAPSHOT_SIZE, run_before=open_event)
