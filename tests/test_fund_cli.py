"""The fund from the command line: demo books, balances, exports, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from msafiri.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo_fund(settings, monkeypatch, capsys):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    code, _, err = run(capsys, "demo", "--migrants", "150", "--json")
    assert code == 0, err


def test_balances_and_exports_of_the_demo_fund(demo_fund, capsys, tmp_path):
    code, out, _ = run(capsys, "fund", "balances", "--json")
    rows = {row["account"]: row for row in json.loads(out)}
    assert code == 0 and rows["Assets:Bank:Operating"]["available_minor"] >= 0
    assert sum(r["debits_minor"] for r in rows.values()) == sum(
        r["credits_minor"] for r in rows.values()
    )
    target = tmp_path / "fund.beancount"
    # An export names who made it (the access log): refused without an officer.
    code, _, err = run(capsys, "ledger", "export", "--output", str(target))
    assert code == 2 and "acts as an officer" in err
    auditor = ("--officer", "demo.auditor", "--role", "auditor")
    code, _, err = run(capsys, *auditor, "ledger", "export", "--output", str(target),
                       "--reason", "Quarterly audit")  # fmt: skip
    assert code == 0 and "wrote" in err
    assert "balance Assets:Bank:Operating" in target.read_text()


def test_refusals_are_one_line_naming_the_field_or_rule(demo_fund, capsys):
    grant = ["fund", "record-grant", "donor=IOM", "received_on=2026-01-01", "reference=IOM-9"]
    code, _, err = run(
        capsys,
        "--officer",
        "demo.fund",
        "--role",
        "fund_officer",
        *grant,
        "amount.amount_minor=ten",
        "amount.currency=KES",
    )
    assert code == 2 and "error: amount.amount_minor:" in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        "--officer",
        "demo.attache",
        "--role",
        "labour_attache",
        *grant,
        "amount.amount_minor=1000",
        "amount.currency=KES",
    )
    assert code == 1 and err.strip().startswith("error: a labour_attache may not record grants")
    command_id = "7d4f1e0a-3b7c-4a51-9a0e-2f6c1d5b8e90"
    args = ["--officer", "demo.fund", "--role", "fund_officer", *grant, "--json"]
    amount = ["amount.amount_minor=1000", "amount.currency=KES", f"command_id={command_id}"]
    first = run(capsys, *args, *amount)
    again = run(capsys, *args, *amount)
    assert first[0] == again[0] == 0 and json.loads(first[1]) == json.loads(again[1])


def test_money_out_needs_a_second_officer_and_dates_are_bounded(demo_fund, capsys, tmp_path):
    code, out, _ = run(capsys, "fund", "--help")
    assert code == 0 and "approve-correction" in out and "reject-correction" in out
    as_fund = ["--officer", "demo.fund", "--role", "fund_officer"]
    legs = tmp_path / "correction.json"
    legs.write_text(
        json.dumps(
            {
                "legs": [
                    {
                        "account": "Equity:Corrections",
                        "currency": "KES",
                        "debit_minor": 100_000_000,
                    },
                    {
                        "account": "Assets:Bank:Operating",
                        "currency": "KES",
                        "credit_minor": 100_000_000,
                    },
                ]
            }
        )
    )
    today = datetime.now(UTC).date().isoformat()
    code, out, err = run(
        capsys,
        *as_fund,
        "fund",
        "post-correction",
        "--input",
        str(legs),
        f"value_date={today}",
        "reason=Bank charges booked twice.",
        "--json",
    )
    proposed = json.loads(out)
    assert code == 0 and proposed["status"] == "proposed", err
    assert proposed["approvers_needed"] == 2
    approve = ["fund", "approve-correction", f"proposal_id={proposed['proposal_id']}"]
    code, _, err = run(capsys, *as_fund, *approve)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: the officer who proposed a correction cannot approve it")
    code, out, err = run(capsys, "--officer", "demo.fund2", "--role", "fund_officer", *approve)
    assert code == 0 and "status=proposed" in out, err  # one more approver needed
    grant = ["fund", "record-grant", "donor=IOM", "reference=IOM-9", "amount.currency=KES"]
    code, _, err = run(
        capsys, *as_fund, *grant, "amount.amount_minor=1000", "received_on=1990-01-01"
    )
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "received_on 1990-01-01 is before the fund opened on" in err
