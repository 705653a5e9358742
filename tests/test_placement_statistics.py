"""Incidents per 100 placements by agency and by employer, and claims by the
registered agency (issue 16 item 6), on SQLite and PostgreSQL: the figures
of a small hand-made history, a merged duplicate counted under its survivor,
households in one unnamed row, a small restricted cell hidden with its
complement, the CLI, its CSV export and the export's access-log entry."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from uuid import UUID

from domain.cases import commands as c
from domain.employers import commands as ec
from domain.officers.commands import SetPassword
from projections.access_log.store import LogFilter
from projections.claims_statistics import claims_table
from projections.placement_statistics import placement_table
from projections.suppression import HIDDEN
from tests.claims_helpers import open_claim, wage_incident
from tests.employer_helpers import agency, contract_with, employer
from tests.factories import days_ago, registration
from tests.test_fund_cli import run


def abroad(system, officers, n: int, **contract) -> UUID:
    """Migrant number `n` registered, placed under `contract` and arrived
    (incidents are reported only after departure)."""
    registrar = officers.registrar
    migrant_id = system.cases.register(
        registrar,
        registration(
            full_name=f"Migrant {n}", national_id=f"4{n:07d}", passport_number=f"PL{n:07d}"
        ),
    )
    cases = system.cases
    cases.execute(
        registrar,
        c.CompleteOrientation(
            migrant_id=migrant_id,
            provider="NITA Kakamega",
            certificate_number=f"PDO-{n}",
            completed_on=days_ago(380),
        ),
    )
    cases.execute(registrar, contract_with(migrant_id, **contract))
    cases.execute(
        registrar,
        c.StartMembership(
            migrant_id=migrant_id,
            membership_number=f"MWF-{n:06d}",
            starts_on=days_ago(370),
            ends_on=days_ago(370) + timedelta(days=730),
        ),
    )
    cases.execute(registrar, c.RecordDeparture(migrant_id=migrant_id, departed_on=days_ago(360)))
    cases.execute(
        officers.attache, c.RecordArrival(migrant_id=migrant_id, arrived_on=days_ago(359))
    )
    return migrant_id


def history(system, officers) -> dict[str, UUID]:
    """Two agencies, one with a duplicate merged into it after it placed a
    migrant; a company and two households.

    Nairobi Gulf: three migrants with the company, two wage incidents each.
    Coast Overseas: one migrant with a household (one injury, restricted);
    its duplicate: one with another household (five wage incidents)."""
    registrar = officers.registrar
    ids = {
        "gulf": agency(system, registrar),
        "coast": agency(
            system, registrar, name="Coast Overseas Recruitment", licence_number="PREA-0100"
        ),
        "coast_dup": agency(
            system, registrar, name="Coast Overseas Recruiting", licence_number="PREA-0101"
        ),
        "company": employer(
            system, registrar, name="Gulf Trading Co.", kind="company", registration_number="CR-7"
        ),
        "harbi": employer(system, registrar),
        "otaibi": employer(system, registrar, name="Al-Otaibi household", city="Jeddah"),
    }
    for n in (1, 2, 3):
        migrant = abroad(system, officers, n, agency_id=ids["gulf"], employer_id=ids["company"])
        for _ in range(2):
            wage_incident(system, officers, migrant)
    migrant = abroad(system, officers, 4, agency_id=ids["coast"], employer_id=ids["harbi"])
    wage_incident(system, officers, migrant, category="injury")
    migrant = abroad(system, officers, 5, agency_id=ids["coast_dup"], employer_id=ids["otaibi"])
    for _ in range(5):
        wage_incident(system, officers, migrant)
    system.employers.execute(
        officers.attache,
        ec.MergeDuplicate(party_id=ids["coast_dup"], into_id=ids["coast"], reason="same agency"),
    )
    system.read_models.catch_up()
    return ids


def by_name(table) -> dict[str, tuple]:
    return {row[0]: row for row in table.rows}


def test_incidents_per_100_placements_by_agency_and_employer(system, officers):
    history(system, officers)
    db = system.read_models.queries.db
    # Threshold 1: nothing hidden - the figures themselves.
    agencies = placement_table(db, "agency", threshold=1)
    rows = by_name(agencies)
    # (name, country, placements, restricted, other, total, per 100 x3)
    assert rows["Nairobi Gulf Recruiters Ltd"] == (
        "Nairobi Gulf Recruiters Ltd", "KE", 3, 0, 6, 6, "0.0", "200.0", "200.0"
    )  # fmt: skip
    # The duplicate's placement and incidents count under its survivor's name.
    assert rows["Coast Overseas Recruitment"] == (
        "Coast Overseas Recruitment", "KE", 2, 1, 5, 6, "50.0", "250.0", "300.0"
    )  # fmt: skip
    assert "Coast Overseas Recruiting" not in rows
    assert [r[0] for r in agencies.rows] == [
        "Nairobi Gulf Recruiters Ltd",  # most placements first
        "Coast Overseas Recruitment",
    ]
    assert agencies.total == ("all", "", 5, 1, 11, 12, "20.0", "220.0", "240.0")
    # By employer: the company by name; the two households in one unnamed row.
    employers = placement_table(db, "employer", threshold=1)
    assert [r[0] for r in employers.rows] == ["Gulf Trading Co.", "households (2)"]
    assert employers.rows[1][2:] == (2, 1, 5, 6, "50.0", "250.0", "300.0")
    assert "household" not in " ".join(map(str, employers.rows[0]))
    # Beyond the limit, the rest make one row and the totals stay whole.
    limited = placement_table(db, "agency", threshold=1, limit=1)
    assert [r[0] for r in limited.rows] == ["Nairobi Gulf Recruiters Ltd", "other agencies (1)"]
    assert limited.rows[1][2:6] == (2, 1, 5, 6) and limited.total == agencies.total
    # A rebuilt read model gives the same table.
    system.read_models.rebuild()
    assert placement_table(db, "agency", threshold=1).rows == agencies.rows


def test_a_small_restricted_cell_is_hidden_with_its_complement(system, officers):
    history(system, officers)
    db = system.read_models.queries.db
    for by, name in (("agency", "Coast Overseas Recruitment"), ("employer", "households (2)")):
        table = placement_table(db, by, threshold=5)
        rows = by_name(table)
        # The one injury is hidden, and so is the other count of its row -
        # else the total (6) minus it would give it away - with their rates.
        assert rows[name][2:] == (2, None, None, 6, None, None, "300.0"), by
        # The row without restricted incidents is shown in full.
        assert [r[2:] for r in table.rows if r[0] != name] == [
            (3, 0, 6, 6, "0.0", "200.0", "200.0")
        ]
        # The restricted column's total (1) is hidden too, with its complement.
        assert table.total == ("all", "", 5, None, None, 12, None, None, "240.0")
        assert table.legend and "fewer than 5" in table.legend


def test_claims_group_by_the_registered_agency(system, officers):
    """A claim under a merged duplicate counts under the survivor's name; a
    free-text contract linked after its claim was opened counts under the
    linked agency; an unlinked one under its free text."""
    registrar, attache = officers.registrar, officers.attache
    gulf = agency(system, registrar)
    coast = agency(system, registrar, name="Coast Overseas Recruitment", licence_number="PREA-1")
    dup = agency(system, registrar, name="Coast Overseas Recruiting", licence_number="PREA-2")
    company = employer(system, registrar, name="Gulf Trading Co.", kind="company")
    under_dup = abroad(system, officers, 1, agency_id=dup, employer_id=company)
    typed = abroad(
        system, officers, 2, employer_id=company, recruitment_agency="Nairobi Gulf (typed)"
    )
    loose = abroad(
        system, officers, 3, employer_id=company, recruitment_agency="Unregistered Movers"
    )
    for migrant in (under_dup, typed, loose):
        open_claim(system, attache, migrant, wage_incident(system, officers, migrant))
    system.read_models.catch_up()
    before = {r[0] for r in claims_table(system.read_models.queries.claims, "agency", 5).rows}
    # Before the merge and the link: the duplicate's own name, the free text.
    assert before == {"Coast Overseas Recruiting", "Nairobi Gulf (typed)", "Unregistered Movers"}
    system.employers.execute(
        attache, ec.MergeDuplicate(party_id=dup, into_id=coast, reason="same agency")
    )
    system.cases.execute(registrar, c.LinkContractParties(migrant_id=typed, agency_id=gulf))
    system.read_models.catch_up()
    table = claims_table(system.read_models.queries.claims, "agency", 5)
    rows = {r[0]: r for r in table.rows}
    assert set(rows) == {
        "Coast Overseas Recruitment",
        "Nairobi Gulf Recruiters Ltd",
        "Unregistered Movers",
    }
    assert all(row[1:5] == ("SAR", 1, 0, 1) for row in rows.values())
    # The same after a rebuild from the log.
    system.read_models.rebuild()
    again = claims_table(system.read_models.queries.claims, "agency", 5)
    assert again.rows == table.rows


def test_the_cli_its_csv_export_and_the_access_log(
    system, officers, settings, monkeypatch, capsys, tmp_path
):
    history(system, officers)
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    code, out, err = run(capsys, "statistics", "placements", "--by", "employer")
    assert code == 0, err
    assert "Incidents per 100 placements by employer" in out
    line = next(x for x in out.splitlines() if x.startswith("households (2)"))
    assert line.split()[2:] == ["2", HIDDEN, HIDDEN, "6", HIDDEN, HIDDEN, "300.0"]
    assert "Gulf Trading Co." in out and "Al-Harbi" not in out and "Al-Otaibi" not in out
    assert "hidden: fewer than 5" in out
    code, out, err = run(capsys, "statistics", "placements", "--json")
    table = json.loads(out)
    assert table["by"] == "agency" and table["rows"][1][:4] == [
        "Coast Overseas Recruitment", "KE", 2, None
    ]  # fmt: skip
    # Bad input names the option and the rule.
    code, _, err = run(capsys, "statistics", "placements", "--limit", "0")
    assert code == 2 and "--limit" in err

    export = tmp_path / "placements.csv"
    # A CSV is an export: refused without an officer, then logged with its reason.
    code, _, err = run(capsys, "statistics", "placements", "--csv", str(export))
    assert code == 2 and "acts as an officer" in err and not export.exists()
    system.officers.set_password(
        officers.auditor, SetPassword(username="auditor", password="an auditor's own words")
    )
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "an auditor's own words")
    auditor = ("--officer", "auditor", "--role", "auditor")
    reason = ("--reason", "Ministry quarterly figures")
    code, out, err = run(
        capsys, *auditor, "statistics", "placements", "--csv", str(export), *reason
    )
    assert code == 0 and f"written to {export}" in out, err
    [logged] = system.access_log.store.entries(LogFilter(action="export"), 10)
    assert logged["username"] == "auditor" and logged["reason"] == "Ministry quarterly figures"
    assert logged["detail"] == f"statistics placements by agency to {export}"
    assert logged["subject_kind"] == "statistics"
    with export.open(newline="") as handle:
        exported = list(csv.reader(handle))
    assert exported[0][1:4] == ["name", "country", "placements"]
    title = "Incidents per 100 placements by agency"
    assert exported[1] == [title, "Nairobi Gulf Recruiters Ltd", "KE", "3", "0", "6", "6",
                           "0.0", "200.0", "200.0"]  # fmt: skip
    assert exported[2][1:] == ["Coast Overseas Recruitment", "KE", "2", HIDDEN, HIDDEN, "6",
                               HIDDEN, HIDDEN, "300.0"]  # fmt: skip
    assert exported[3][1:4] == ["all", "", "5"]
    assert exported[-1][1] == "note" and "fewer than 5" in exported[-1][2]
