"""`msafiri claim|coverage|agreement` and `msafiri statistics claims|coverage`
(issue 16): money typed and shown in major units; refusals in one line."""

from __future__ import annotations

import csv
import json

import pytest

from msafiri.demo.officers import ensure_demo_officers
from tests.claims_helpers import wage_incident
from tests.factories import days_ago, send_abroad
from tests.test_fund_cli import run
from tests.test_projections_support import _Officers


@pytest.fixture
def abroad(system, settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    actors = ensure_demo_officers(system)
    officers = _Officers(actors)
    migrant_id = send_abroad(system, officers)
    incident_id = wage_incident(system, officers, migrant_id)
    system.read_models.catch_up()
    return system.cases.get(migrant_id).case_number, str(incident_id)


def as_(who: str, role: str) -> list[str]:
    return ["--officer", who, "--role", role]


def test_a_claim_from_the_command_line(abroad, capsys, tmp_path):
    case_number, incident_id = abroad
    attache = as_("demo.attache", "labour_attache")
    code, out, err = run(
        capsys,
        *attache,
        "claim",
        "open",
        f"migrant_id={case_number}",
        f"incident_id={incident_id[:8]}",
        "kind=unpaid_wages",
        "amount_claimed=6,000.00 SAR",
        f"opened_on={days_ago(40)}",
        "--json",
    )
    assert code == 0, err
    opened = json.loads(out)
    assert opened["claimed"] == "6,000.00 SAR"
    claim = opened["claim_id"][:8]
    for amount in ("1,500.00", "2000.5"):
        code, out, err = run(
            capsys,
            *attache,
            "claim",
            "recover",
            f"claim_id={claim}",
            "--amount",
            amount,
            "--currency",
            "SAR",
            "channel=mission",
            f"received_on={days_ago(5)}",
        )
        assert code == 0, err
    assert "outstanding=2,499.50 SAR" in out
    # More than claimed, without a reason: refused in one line naming the field.
    code, _, err = run(
        capsys,
        *attache,
        "claim",
        "recover",
        f"claim_id={claim}",
        "amount=3000 SAR",
        "channel=direct",
        f"received_on={days_ago(1)}",
    )
    assert code != 0 and "reason_above_claimed" in err and "Traceback" not in err
    # Three decimals for SAR is a typing error.
    code, _, err = run(
        capsys,
        *attache,
        "claim",
        "recover",
        f"claim_id={claim}",
        "amount=1.234 SAR",
        "channel=direct",
        f"received_on={days_ago(1)}",
    )
    assert code != 0 and "SAR has 2 decimals" in err
    code, out, err = run(capsys, *attache, "claim", "show", claim, "--json")
    shown = json.loads(out)
    assert shown["recovered"] == "3,500.50 SAR"
    assert [e["amount"] for e in shown["entries"]] == ["1,500.00 SAR", "2,000.50 SAR"]
    code, out, _ = run(capsys, *attache, "claim", "list", case_number)
    assert "3,500.50 SAR" in out
    # A fund officer reads but may not record.
    code, _, err = run(
        capsys,
        *as_("demo.fund", "fund_officer"),
        "claim",
        "close",
        f"claim_id={claim}",
        "outcome=withdrawn",
    )
    assert code != 0 and "may not close claim" in err

    # Statistics by agency, in major units; the CSV without separators.
    target = tmp_path / "claims.csv"
    # The CSV is an export: made by a signed-in officer, in the access log.
    code, out, err = run(capsys, *as_("demo.fund", "fund_officer"), "statistics", "claims",
                         "--by", "agency", "--csv", str(target))  # fmt: skip
    assert code == 0, err
    assert "Nairobi Gulf Recruiters Ltd" in out and "2,499.50" in out
    rows = list(csv.reader(target.open()))
    assert rows[1][1:5] == ["Nairobi Gulf Recruiters Ltd", "SAR", "1", "0"]
    assert "3500.50" in rows[1]


def test_coverage_and_agreements_from_the_command_line(abroad, capsys):
    case_number, _ = abroad
    admin = as_("demo.admin", "administrator")
    code, _, err = run(
        capsys,
        *admin,
        "agreement",
        "set",
        "country=SA",
        "kind=ssa",
        "title=Kenya-Saudi SSA",
        f"in_force_from={days_ago(900)}",
    )
    assert code == 0, err
    code, _, err = run(
        capsys,
        *as_("demo.attache", "labour_attache"),
        "agreement",
        "set",
        "country=QA",
        "kind=bla",
        "title=x",
        f"in_force_from={days_ago(9)}",
    )
    assert code != 0 and "may not edit the agreements table" in err
    code, _, err = run(
        capsys,
        *as_("demo.registrar", "registration_officer"),
        "coverage",
        "insurance",
        f"migrant_id={case_number}",
        "insurer=Tawuniya",
        "policy_number=TW-123",
        f"valid_from={days_ago(360)}",
        f"valid_until={days_ago(-300)}",
    )
    assert code == 0, err
    code, out, err = run(
        capsys, *as_("demo.attache", "labour_attache"), "coverage", "show", case_number, "--json"
    )
    assert code == 0, err
    shown = json.loads(out)
    assert shown["insured"] and shown["ssa"] == "Kenya-Saudi SSA" and shown["bla"] is None
    code, out, _ = run(capsys, "statistics", "coverage", "--json")
    table = json.loads(out)
    sa = next(r for r in table["rows"] if r[0] == "SA")
    assert sa[1:6] == ["female", 1, 1, 0, 1]
    code, out, _ = run(capsys, "agreement", "list")
    assert "SA  SSA  Kenya-Saudi SSA" in out
