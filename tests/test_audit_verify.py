"""`msafiri audit verify` from the command line, as an auditor runs it, on
SQLite and PostgreSQL: by default the read models' counts, the fund's
balances and a sample of cases against the log; with `--full` every read
model against a replay of the log; the checkpoints kept in the database and
their signatures, stopped projections, an unchained tail, an empty store.
Tampering is done with SQL, as someone with database access would."""

from __future__ import annotations

import json
from datetime import date
from uuid import UUID, uuid4

import pytest

from domain.ids import officer_id
from domain.model import Actor
from domain.values import Money, Role
from ledger import commands as c
from ledger.transfer import transfer_record_id
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from projections.audit import signing
from tests.test_audit_chain import rewrite_history as rewrite_history_of
from tests.test_fund_cli import run
from tests.test_projections_support import read_model_tables


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    # Reads name their reader in the access log: the auditor's, by default.
    monkeypatch.setenv("MSAFIRI_OFFICER", "demo.auditor")
    monkeypatch.setenv("MSAFIRI_ROLE", "auditor")
    for name in ("SIGNING_KEY_FILE", "PUBLIC_KEY_FILE", "UNCHAINED_MAX_MINUTES"):
        monkeypatch.delenv(f"MSAFIRI_AUDIT_{name}", raising=False)
    return settings


@pytest.fixture
def demo(cli_env, capsys):
    code, _, err = run(capsys, "demo", "--migrants", "150", "--json")
    assert code == 0, err
    return cli_env


def sql(settings, *statements: str) -> None:
    """Run statements against the database directly (the attacker's path)."""
    from msafiri.bootstrap import connector
    from msafiri.settings import parse_database_url

    database = parse_database_url(settings.database_url)
    conn = connector(settings, database)()
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit() if database.backend == "postgresql" else None
    finally:
        conn.close()


def problems(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("PROBLEM ")]


def test_full_verify_compares_every_read_model_with_the_log_and_names_the_row(demo, capsys):
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and problems(out) == [], out
    assert "read-model row counts checked against the log" in out
    assert "`--full` rebuilds every one from the log and compares every row" in out
    assert "note: signatures not checked: no public key" in out
    code, out, _ = run(capsys, "audit", "verify", "--full")
    assert code == 0 and problems(out) == [], out
    assert f"{len(read_model_tables())} read-model tables" in out

    sql(
        demo,
        "UPDATE rm_disbursements SET status = 'paid' WHERE disbursement_id = "
        "(SELECT MIN(disbursement_id) FROM rm_disbursements WHERE status <> 'paid')",
        "UPDATE rm_fund_journal SET memo = 'moved' WHERE notification_id = "
        "(SELECT MIN(notification_id) FROM rm_fund_journal)",
        "UPDATE rm_fund_members SET full_name = 'Nobody' WHERE migrant_id = "
        "(SELECT MIN(migrant_id) FROM rm_fund_members)",
        # An approval demo.fund2 never made, in the who-did-what index.
        "UPDATE rm_activity SET event_type = 'DisbursementApproved' WHERE position = "
        "(SELECT MIN(position) FROM rm_activity WHERE event_type = 'MigrantRegistered')",
    )
    code, out, _ = run(capsys, "audit", "verify", "--full")
    found = problems(out)
    assert code == 3
    for table, what in (
        # (whichever status the demo left that request in: requested, lapsed ...)
        ("rm_disbursements", "status is 'paid', the log gives '"),
        ("rm_fund_journal", "memo is 'moved'"),
        ("rm_fund_members", "full_name is 'Nobody'"),
        ("rm_activity", "event_type is 'DisbursementApproved', the log gives 'MigrantRegistered'"),
    ):
        assert any(f"read model {table}, row " in p and what in p for p in found), (table, out)
    # A row nobody's event made is named too.
    sql(demo, "DELETE FROM rm_fund_members WHERE full_name = 'Nobody'")
    code, out, _ = run(capsys, "audit", "verify", "--full", "--json")
    data = json.loads(out)
    assert code == 3 and not data["ok"] and data["full"]
    assert any("rm_fund_members" in p and "missing (the log has it)" in p for p in data["problems"])


def test_default_verify_checks_counts_balances_and_sampled_cases(demo, capsys):
    """Without --full: a row deleted or added by SQL changes a read model's
    count, a tampered fund account differs from the book replayed, and a
    tampered case is found when the sample draws it (here: every case, as
    there are fewer than the sample's size)."""
    code, out, _ = run(capsys, "audit", "verify", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and not data["full"], data["problems"]
    assert data["read_model_counts_checked"] == 6 and data["read_model_tables_checked"] == 0
    assert data["cases_checked_against_replay"] == 150 and data["cases_sample_seed"] is None
    sql(
        demo,
        "DELETE FROM rm_disbursements WHERE disbursement_id = "
        "(SELECT MIN(disbursement_id) FROM rm_disbursements)",
        "INSERT INTO rm_activity (position, actor_id, actor_role, event_type, aggregate_id, "
        "recorded_at, occurred_at) SELECT MAX(position) + 1000, 'x', 'x', 'x', 'x', 'x', 'x' "
        "FROM rm_activity",
        "UPDATE rm_fund_accounts SET debits_posted = debits_posted + 1 "
        "WHERE account = 'Assets:Bank:Operating'",
        "UPDATE rm_cases SET full_name = 'Nobody' WHERE migrant_id = "
        "(SELECT MIN(migrant_id) FROM rm_cases)",
    )
    code, out, _ = run(capsys, "audit", "verify")
    found = problems(out)
    assert code == 3, out
    assert any(
        "read model rm_disbursements has " in p and "DisbursementRequested events up to" in p
        for p in found
    ), out
    assert any("read model rm_activity has " in p and " events up to position" in p for p in found)
    assert any("fund account Assets:Bank:Operating" in p for p in found), out
    assert any("case " in p and "'Nobody'" in p for p in found), out


def test_a_sample_of_cases_is_drawn_with_a_seed_that_repeats_it(demo, capsys):
    code, out, _ = run(capsys, "audit", "verify", "--sample", "20", "--json")
    data = json.loads(out)
    assert code == 0 and data["cases_checked_against_replay"] == 20, data
    seed = data["cases_sample_seed"]
    assert any(f"20 of 150 cases replayed, drawn with seed {seed}" in n for n in data["notes"])
    code, out, _ = run(capsys, "audit", "verify", "--sample", "20", "--seed", str(seed))
    assert code == 0 and f"drawn with seed {seed} (`--sample 20 --seed {seed}`" in out, out


def test_verify_fails_while_a_projection_is_stopped(demo, capsys):
    # A row in the way of the next event: the activity projection cannot
    # apply it and stops there, the others go on.
    sql(
        demo,
        "INSERT INTO rm_activity (position, actor_id, actor_role, event_type, aggregate_id, "
        "recorded_at, occurred_at) SELECT MAX(position) + 1, 'x', 'x', 'x', 'x', 'x', 'x' "
        "FROM rm_activity",
    )
    grant = [
        "--officer", "demo.fund", "--role", "fund_officer", "fund", "record-grant",
        "donor=IOM", "received_on=2026-01-01", "reference=IOM-STOP",
        "amount.amount_minor=1000", "amount.currency=KES",
    ]  # fmt: skip
    code, _, err = run(capsys, *grant)
    assert code == 0, err
    code, out, _ = run(capsys, "audit", "verify")
    stopped = [p for p in problems(out) if "read model activity is stopped" in p]
    assert code == 3 and len(stopped) == 1, out
    assert "at position " in stopped[0] and "failed (" in stopped[0]


def test_verify_fails_when_it_verified_nothing(cli_env, capsys):
    code, _, err = run(capsys, "db", "upgrade")  # an empty database, not a missing one
    assert code == 0, err
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 3 and "PROBLEM nothing verified: the log is empty" in out


def test_an_unchained_tail_older_than_the_bound_fails(demo, capsys, monkeypatch):
    # A grant written while no follower runs (a worker down): not chained yet.
    system = build_system(Settings(database_url=demo.database_url))
    try:
        fund = Actor(officer_id=officer_id("demo.fund"), role=Role.FUND_OFFICER)
        grant = c.RecordGrant(
            command_id=uuid4(),
            donor="IOM",
            amount=Money(amount_minor=1000, currency="KES"),
            received_on=date(2026, 1, 1),
            reference="IOM-TAIL",
        )
        system.ledger.record_grant(fund, grant)
        system.read_models.catch_up()
        tail = system.audit.max_position() - system.audit.head().position
    finally:
        system.close()
    assert tail >= 1
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and f"{tail} newer events not chained yet" in out, out
    monkeypatch.setenv("MSAFIRI_AUDIT_UNCHAINED_MAX_MINUTES", "0")
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 3
    assert any(
        f"{tail} events after the chain's head are not chained" in p
        and "MSAFIRI_AUDIT_UNCHAINED_MAX_MINUTES=0" in p
        for p in problems(out)
    ), out
    sql(demo, "DELETE FROM rm_audit_chain")
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 3 and "PROBLEM nothing verified: no event is chained yet" in out
    assert "is past the chain's head (its links were deleted)" in out


def rewrite_history(settings) -> None:
    """Alter an event, recompute the chain (with the attacker's own copy of
    the chaining rule) and let the read models follow: only a checkpoint kept
    from before can tell."""
    system = build_system(Settings(database_url=settings.database_url))
    try:
        rewrite_history_of(system)
    finally:
        system.close()


def test_plain_verify_checks_the_signed_checkpoints_in_the_database(
    demo, capsys, monkeypatch, tmp_path
):
    key = tmp_path / "audit.pem"
    code, public_pem, _ = run(capsys, "audit", "keygen", "--output", str(key))
    public = tmp_path / "audit.pub"
    public.write_text(public_pem)
    # The demo's followers kept an unsigned checkpoint at the head; once a
    # key is configured, `audit checkpoint` signs now instead of returning it.
    unsigned = [json.loads(t) for t in run(capsys, "audit", "checkpoints")[1].splitlines()]
    assert unsigned and all("signature" not in record for record in unsigned)
    monkeypatch.setenv("MSAFIRI_AUDIT_SIGNING_KEY_FILE", str(key))
    code, out, _ = run(capsys, "audit", "checkpoint")
    record = json.loads(out)
    assert code == 0 and record["position"] == unsigned[-1]["position"]
    signing.check(record, public_pem)  # raises if unsigned or forged
    kept = [json.loads(t) for t in run(capsys, "audit", "checkpoints")[1].splitlines()]
    assert kept[-1]["signature"] == record["signature"]

    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and f"signatures checked with the public half of {key}" in out, out

    rewrite_history(demo)
    run(capsys, "audit", "chain")
    run(capsys, "projections", "rebuild")
    monkeypatch.delenv("MSAFIRI_AUDIT_SIGNING_KEY_FILE")
    monkeypatch.setenv("MSAFIRI_AUDIT_PUBLIC_KEY_FILE", str(public))
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 3, out
    assert any("kept in the database" in p and "rewritten" in p for p in problems(out)), out
    assert f"signatures checked with {public}" in out

    # A forged signature in the database is named as such.
    sql(demo, "UPDATE rm_audit_checkpoints SET signature = 'AAAA' WHERE signature IS NOT NULL")
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 3 and any("bad signature" in p for p in problems(out)), out


def test_an_unsigned_checkpoint_is_reported_as_not_signed(demo, capsys, tmp_path):
    key = tmp_path / "audit.pem"
    public = tmp_path / "audit.pub"
    public.write_text(signing.generate_key(key))
    kept = tmp_path / "kept.jsonl"
    code, _, _ = run(capsys, "audit", "checkpoint", "--output", str(kept))
    position = json.loads(kept.read_text())["position"]
    code, out, _ = run(
        capsys, "audit", "verify", "--checkpoint", str(kept), "--public-key", str(public)
    )
    assert code == 3
    assert f"PROBLEM checkpoint at position {position} is not signed" in out
    assert "'signature'" not in out


def test_audit_as_of_the_fund_after_a_reversal(demo, capsys):
    command_id = str(uuid4())
    fund = ["--officer", "demo.fund", "--role", "fund_officer", "fund"]
    grant = [
        "record-grant", "donor=IOM", "received_on=2026-01-01", "reference=IOM-REV",
        "amount.amount_minor=1000", "amount.currency=KES", f"command_id={command_id}",
    ]  # fmt: skip
    assert run(capsys, *fund, *grant)[0] == 0
    code, out, err = run(
        capsys, *fund, "reverse", f"transfer_id={command_id}", "reason=Recorded twice.", "--json"
    )
    assert code == 0, err
    # Taking money out of the fund is only proposed; another officer approves it.
    proposal = json.loads(out)["proposal_id"]
    fund2 = ["--officer", "demo.fund2", "--role", "fund_officer", "fund"]
    code, _, err = run(capsys, *fund2, "approve-correction", f"proposal_id={proposal}")
    assert code == 0, err
    code, out, _ = run(capsys, "audit", "verify", "--json")
    position = json.loads(out)["head_position"]
    system = build_system(Settings(database_url=demo.database_url))
    try:
        book_id = str(system.ledger.book_id)
    finally:
        system.close()
    code, out, err = run(capsys, "audit", "as-of", book_id, "--position", str(position))
    assert code == 0, err
    assert "accounts" in json.loads(out)
    # The book keeps balances only (issue 17); each transfer is its own record.
    record = str(transfer_record_id(UUID(command_id)))
    code, out, err = run(capsys, "audit", "as-of", record, "--position", str(position))
    assert code == 0, err
    assert json.loads(out)["reversed_by"] is not None
