"""Shared by the projection tests: dump read models, build scenarios.
(Named test_projections_* so it sits with the tests it serves; it has none.)"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from domain.cases import commands as c
from domain.incidents import commands as ic
from domain.officers.commands import GrantRole, RevokeRole
from domain.values import Role, utcnow
from ledger.demo import populate_fund
from projections.db import ReadModelDb
from projections.readmodels import ReadModels, all_projections
from tests.factories import days_ago, send_abroad
from tui.demo.officers import ensure_demo_officers
from tui.demo.population import populate


def read_model_tables() -> list[str]:
    return sorted({t for p in all_projections() for t in p.tables})


def dump(database) -> dict[str, list[tuple]]:
    """Every row of every read model, sorted: what 'equal' means."""
    db = ReadModelDb(database)
    try:
        out = {
            table: sorted(db.fetchall(f"SELECT * FROM {table}"), key=repr)
            for table in read_model_tables()
        }
        out["rm_tracking"] = sorted(
            db.fetchall("SELECT projection, position, failed_id, error FROM rm_tracking")
        )
        return out
    finally:
        db.close()


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for table in a:
        assert len(a[table]) == len(b[table]), table
        assert a[table] == b[table], table


def corrections_and_cycles(system, actors) -> None:
    """Events the demo never writes: corrections (sex too), a new cycle,
    reassignment, an incident on a corrected case, officer role changes."""
    cases = system.cases
    registrar, attache = actors["registrar"], actors["attache"]
    migrant_id = send_abroad(system, _Officers(actors))
    incident_id = uuid4()
    system.incidents.report(
        attache,
        ic.ReportIncident(
            incident_id=incident_id,
            migrant_id=migrant_id,
            category="unpaid_or_delayed_wages",
            severity="medium",
            occurred_at=utcnow() - timedelta(days=30),
            reported_at=utcnow() - timedelta(days=29),
            channel="hotline",
            description="Wages three months late.",
        ),
    )
    cases.execute(
        registrar,
        c.CorrectRegistration(
            migrant_id=migrant_id,
            full_name="Wanjiku Njeri Mwangi",
            sex="male",
            phone="+254722000111",
            reason="typed from the wrong form",
        ),
    )
    cases.execute(
        attache,
        c.RecordReturn(
            migrant_id=migrant_id,
            returned_on=days_ago(20),
            assisted=False,
            reason="contract_completed",
        ),
    )
    cases.execute(registrar, c.StartNewCycle(migrant_id=migrant_id, started_on=days_ago(10)))
    cases.execute(
        registrar,
        c.AssignCaseOfficer(migrant_id=migrant_id, officer_id=actors["attache2"].officer_id),
    )
    system.incidents.execute(
        attache, ic.ResolveIncident(incident_id=incident_id, outcome="Paid in full.")
    )
    admin = actors["admin"]
    system.officers.grant_role(
        admin, GrantRole(username="demo.auditor", role=Role.REINTEGRATION_OFFICER, reason="cover")
    )
    system.officers.revoke_role(
        admin, RevokeRole(username="demo.auditor", role=Role.REINTEGRATION_OFFICER, reason="back")
    )


class _Officers:
    """tests.factories.send_abroad wants an object with .registrar/.attache."""

    def __init__(self, actors):
        self.registrar = actors["registrar"]
        self.attache = actors["attache"]


def write_in_chunks(system, read_models: ReadModels | None, chunks: int, migrants: int) -> dict:
    """Demo data written in chunks, read models caught up between chunks."""
    actors = ensure_demo_officers(system)
    for index in range(chunks):
        rng = populate(system.store, actors, migrants, seed=index, workers=0)
        if read_models:
            read_models.catch_up()
        if index == 0:
            corrections_and_cycles(system, actors)
    populate_fund(system, rng, actors, progress=lambda n: None)
    system.fund_process.run_once()
    return actors
