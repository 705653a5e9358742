"""The fund from the command line: demo books, balances, exports, refusals."""

from __future__ import annotations

import json

import pytest

from tui.cli.main import main


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
    code, _, err = run(capsys, "ledger", "export", "--output", str(target))
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
