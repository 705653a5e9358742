"""Shared by the projection tests: dump read models, build scenarios.
(Named test_projections_* so it sits with the tests it serves; it has none.)"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from domain.cases import commands as c
from domain.incidents import commands as ic
from domain.officers.commands import GrantRole, RevokeRole
from domain.values import Role, utcnow
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from projections.db import ReadModelDb
from projections.readmodels import ReadModels, all_projections
from tests.factories import days_ago, send_abroad


def read_model_tables() -> list[str]:
    return sorted({t for p in all_projections() for t in p.tables})


def dump(database) -> dict[str, list[tuple]]:
    """Every row of every read model, sorted, its columns in name order (a
    migration re-applied adds its column at the end): what 'equal' means."""
    db = ReadModelDb(database)
    try:
        out = {}
        for table in read_model_tables():
            cursor = db.execute(f"SELECT * FROM {table} LIMIT 0")
            names = sorted(d[0] for d in cursor.description)
            cursor.fetchall()
            out[table] = sorted(db.fetchall(f"SELECT {', '.join(names)} FROM {table}"), key=repr)
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
    claims_and_coverage(system, actors, migrant_id, incident_id)
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
    owed_on_return(system, actors, migrant_id)
    cases.execute(registrar, c.StartNewCycle(migrant_id=migrant_id, started_on=days_ago(10)))
    cases.execute(
        registrar,
        c.AssignCaseOfficer(migrant_id=migrant_id, officer_id=actors["attache2"].officer_id),
    )
    system.incidents.execute(
        attache, ic.ResolveIncident(incident_id=incident_id, outcome="Paid in full.")
    )
    employer_stories(system, actors)
    admin = actors["admin"]
    system.officers.grant_role(
        admin, GrantRole(username="demo.auditor", role=Role.REINTEGRATION_OFFICER, reason="cover")
    )
    system.officers.revoke_role(
        admin, RevokeRole(username="demo.auditor", role=Role.REINTEGRATION_OFFICER, reason="back")
    )


def employer_stories(system, actors) -> None:
    """Registry events the demo never writes (issue 16): a free-text contract
    linked, an incident with a registered employer, a listing (maker and
    checker), a merge of duplicates, a revoked licence, a justified change to
    a listed employer."""
    from domain.employers import commands as ec

    registrar, attache, attache2 = actors["registrar"], actors["attache"], actors["attache2"]
    employers = system.employers
    migrant_id = send_abroad(
        system,
        _Officers(actors),
        national_id="39876543",
        passport_number="AK7654321",
        phone="+254733000222",  # the corrections story searches for the default one
    )
    keep = employers.register_employer(
        registrar,
        ec.RegisterEmployer(
            name="Story household", kind="household", country="SA", city="Taif", sector="care_work"
        ),
    )
    dup = employers.register_employer(
        attache,
        ec.RegisterEmployer(
            name="Storey household", kind="household", country="SA", city="Taif", sector="care_work"
        ),
    )
    agency = employers.register_agency(
        registrar,
        ec.RegisterAgency(
            name="Story Agency",
            licence_number="STORY-1",
            licence_valid_from=days_ago(900),
            licence_valid_until=days_ago(-900),
        ),
    )
    system.cases.execute(
        registrar, c.LinkContractParties(migrant_id=migrant_id, employer_id=dup, agency_id=agency)
    )
    system.incidents.report(
        attache,
        ic.ReportIncident(
            migrant_id=migrant_id,
            category="physical_abuse",
            severity="high",
            occurred_at=utcnow() - timedelta(days=40),
            reported_at=utcnow() - timedelta(days=39),
            channel="walk_in",
            description="Beaten by the employer.",
        ),
    )
    employers.execute(registrar, ec.MergeDuplicate(party_id=dup, into_id=keep, reason="typo"))
    employers.execute(attache, ec.ProposeListing(party_id=keep, reason="physical abuse"))
    employers.execute(attache2, ec.ApproveWatchlistChange(party_id=keep))
    employers.execute(
        registrar, ec.RevokeAgencyLicence(party_id=agency, reason="fees", revoked_on=days_ago(2))
    )
    other = employers.register_employer(
        registrar,
        ec.RegisterEmployer(
            name="Other household", kind="household", country="SA", city="Taif", sector="care_work"
        ),
    )
    employers.execute(attache, ec.ProposeListing(party_id=other, reason="confinement"))
    employers.execute(attache2, ec.ApproveWatchlistChange(party_id=other))
    system.cases.execute(
        attache,
        c.ChangeEmployer(
            migrant_id=migrant_id,
            employer_id=other,
            reason="rescued from the first",
            changed_on=days_ago(30),
            justification="the only employer who would take her at once",
        ),
    )


def claims_and_coverage(system, actors, migrant_id, incident_id) -> None:
    """Issue 16: coverage of the contract, the agreements table (set, replaced,
    removed) and a wage claim with steps and two recoveries."""
    from domain.claims import commands as cc
    from domain.coverage import commands as vc

    registrar, attache, admin = actors["registrar"], actors["attache"], actors["admin"]
    system.coverage.record_insurance(
        registrar,
        vc.RecordInsurance(
            migrant_id=migrant_id,
            insurer="Tawuniya",
            policy_number="TW-0001",
            valid_from=days_ago(360),
            valid_until=days_ago(-300),
        ),
    )
    system.coverage.record_registration(
        attache,
        vc.RecordSocialSecurityRegistration(
            migrant_id=migrant_id,
            scheme="GOSI",
            social_security_number="G-1",
            registered_on=days_ago(300),
        ),
    )
    for kind, title in (("ssa", "SSA draft"), ("ssa", "Kenya-Saudi SSA"), ("bla", "BLA")):
        system.coverage.set_agreement(
            admin,
            vc.SetAgreement(country="SA", kind=kind, title=title, in_force_from=days_ago(900)),
        )
    system.coverage.set_agreement(
        admin, vc.SetAgreement(country="QA", kind="bla", title="x", in_force_from=days_ago(9))
    )
    system.coverage.remove_agreement(
        admin, vc.RemoveAgreement(country="QA", kind="bla", reason="entered in error")
    )
    claim_id = system.claims.open(
        attache,
        cc.OpenClaim(
            migrant_id=migrant_id,
            incident_id=incident_id,
            kind="unpaid_wages",
            amount_claimed={"amount_minor": 450_000, "currency": "SAR"},
            opened_on=days_ago(28),
        ),
    )
    run = system.claims.execute
    run(attache, cc.RecordClaimStep(claim_id=claim_id, step="employer", filed_on=days_ago(27)))
    for amount in (150_000, 300_000):
        run(
            attache,
            cc.RecordRecovery(
                claim_id=claim_id,
                amount={"amount_minor": amount, "currency": "SAR"},
                channel="mission",
                received_on=days_ago(25),
            ),
        )
    run(attache, cc.CloseClaim(claim_id=claim_id, outcome="recovered_in_full"))


def owed_on_return(system, actors, migrant_id) -> None:
    from domain.claims import commands as cc

    system.claims.open(
        actors["reintegrator"],
        cc.OpenClaim(
            migrant_id=migrant_id,
            kind="social_security_contributions",
            amount_claimed={"amount_minor": 90_000, "currency": "SAR"},
            opened_on=days_ago(15),
        ),
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
        populate_with_fund(system, actors, migrants, seed=index, workers=0)
        if read_models:
            read_models.catch_up()
        if index == 0:
            corrections_and_cycles(system, actors)
    system.fund_process.run_once()
    return actors
