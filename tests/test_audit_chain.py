"""The audit chain finds every alteration of the stored log, on SQLite and
PostgreSQL, and an independent script recomputes it from an export."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate
from projections.audit import signing
from projections.audit.chain import verify
from projections.audit.trail import export_lines


def as_is(line: dict) -> dict:
    """These tests check the chain and the filters, not need to know
    (tests/test_need_to_know_matrix.py does): every line as stored."""
    return line


@pytest.fixture
def chained(system):
    actors = ensure_demo_officers(system)
    populate(system.store, actors, 30, 11, lambda n: None)
    assert system.audit.extend_chain() > 100
    return system


def tamper(system, sql_sqlite: str, sql_pg: str, *params) -> None:
    conn = system.audit.connect()
    try:
        sql = sql_sqlite if system.audit.backend == "sqlite" else sql_pg
        for statement in sql.split(";"):
            if statement.strip():
                if params:
                    conn.execute(statement, params)
                else:
                    conn.execute(statement)
        if system.audit.backend != "sqlite":
            conn.commit()
    finally:
        conn.close()


def findings(system):
    result = verify(system.audit.rows(), system.audit.chain())
    return result, [(f.position, f.problem) for f in result.findings]


def change_a_byte(system, position: int) -> None:
    """Someone with database access changes one stored byte (the state is
    encrypted: there is no text to edit)."""
    table, column = ("stored_events", "rowid")
    if system.audit.backend != "sqlite":
        table, column = ("msafiri_events", "notification_id")
    mark = "?" if system.audit.backend == "sqlite" else "%s"
    conn = system.audit.connect()
    try:
        (state,) = conn.execute(
            f"SELECT state FROM {table} WHERE {column} = {mark}", (position,)
        ).fetchone()
        state = bytearray(state)
        state[-1] ^= 1
        conn.execute(
            f"UPDATE {table} SET state = {mark} WHERE {column} = {mark}", (bytes(state), position)
        )
        if system.audit.backend != "sqlite":
            conn.commit()
    finally:
        conn.close()


def rewrite_history(system) -> None:
    """Someone with database access alters an event and recomputes the chain
    with their own copy of the (public) chaining rule: Msafiri's chainer
    would refuse the altered row (see tests/test_encryption.py)."""
    change_a_byte(system, 5)
    tamper(system, "DELETE FROM rm_audit_chain", "DELETE FROM rm_audit_chain")
    check, system.audit.authenticate = system.audit.authenticate, None
    try:
        system.audit.extend_chain()
    finally:
        system.audit.authenticate = check


def test_an_untouched_store_verifies(chained):
    result, problems = findings(chained)
    assert problems == [] and result.checked == chained.audit.max_position()


def test_a_changed_byte_is_found_at_its_position(chained):
    change_a_byte(chained, 7)
    _, problems = findings(chained)
    assert len(problems) == 1 and problems[0][0] == 7 and "altered" in problems[0][1]


def test_a_deleted_event_is_found_at_its_position(chained):
    tamper(
        chained,
        "DELETE FROM stored_events WHERE rowid = 40",
        "DELETE FROM msafiri_events WHERE notification_id = 40",
    )
    _, problems = findings(chained)
    assert problems == [(40, "event deleted: chained, not in the log")]


def test_swapped_events_are_found_at_both_positions(chained):
    tamper(
        chained,
        "UPDATE stored_events SET rowid = -1 WHERE rowid = 50;"
        "UPDATE stored_events SET rowid = 50 WHERE rowid = 51;"
        "UPDATE stored_events SET rowid = 51 WHERE rowid = -1",
        "UPDATE msafiri_events SET notification_id = -1 WHERE notification_id = 50;"
        "UPDATE msafiri_events SET notification_id = 50 WHERE notification_id = 51;"
        "UPDATE msafiri_events SET notification_id = 51 WHERE notification_id = -1",
    )
    _, problems = findings(chained)
    assert [p for p, _ in problems] == [50, 51]
    assert all("out of order" in problem for _, problem in problems)


def test_a_forged_event_in_place_of_a_real_one_is_found(chained):
    tamper(
        chained,
        "DELETE FROM stored_events WHERE rowid = 60;"
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
        "SELECT 60, originator_id, 99, topic, state FROM stored_events WHERE rowid = 3",
        "DELETE FROM msafiri_events WHERE notification_id = 60;"
        "INSERT INTO msafiri_events (notification_id, originator_id, originator_version, "
        "topic, state) SELECT 60, originator_id, 99, topic, state FROM msafiri_events "
        "WHERE notification_id = 3",
    )
    _, problems = findings(chained)
    assert [p for p, _ in problems] == [60]


def test_the_json_lines_export_recomputes_to_the_same_head(chained, tmp_path):
    path = tmp_path / "trail.jsonl"
    with path.open("w") as file:
        for line in export_lines(chained.store, chained.audit, disclose=as_is):
            file.write(json.dumps(line) + "\n")
    script = Path(__file__).parent.parent / "docs" / "verify_chain.py"
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert done.stdout.split()[-1] == chained.audit.head().link.hex()


def test_a_rewritten_history_is_caught_by_a_signed_checkpoint(chained, tmp_path):
    key = tmp_path / "audit.pem"
    public = signing.generate_key(key)
    record = chained.audit.record_checkpoint()
    record["signature"] = signing.sign(record, key)
    assert signing.checkpoint_problems(chained.audit, [record], public) == []
    # Someone with database access alters an event and recomputes the whole chain:
    rewrite_history(chained)
    assert findings(chained)[1] == []  # the chain alone cannot tell...
    problems = signing.checkpoint_problems(chained.audit, [record], public)
    assert len(problems) == 1 and "rewritten" in problems[0]  # ...the kept checkpoint does
    forged = record | {"head": "0" * 64}
    assert any(
        "bad signature" in p for p in signing.checkpoint_problems(chained.audit, [forged], public)
    )


def test_followers_take_signed_checkpoints_periodically(settings, tmp_path, monkeypatch, capsys):
    from msafiri.bootstrap import build_system
    from tests.test_fund_cli import run

    key, kept_file = tmp_path / "audit.pem", tmp_path / "kept" / "checkpoints.jsonl"
    public = tmp_path / "audit.pub"
    public.write_text(signing.generate_key(key))
    kept_file.parent.mkdir()
    configured = settings.model_copy(
        update={
            "audit_signing_key_file": key,
            "audit_checkpoint_file": kept_file,
            "audit_checkpoint_minutes": 60,
        }
    )
    system = build_system(configured)
    try:
        actors = ensure_demo_officers(system)
        populate(system.store, actors, 20, 3, lambda n: None)
        system.keep_current()  # what every CLI write and the workers run
        first = system.audit.checkpoints()
        assert len(first) == 1 and first[0]["position"] == system.audit.head().position
        assert signing.checkpoint_problems(system.audit, first, public.read_text()) == []
        # The same line went to the file outside the database.
        assert [json.loads(line) for line in kept_file.read_text().splitlines()] == first

        # More events within the hour: chained, but no new checkpoint yet.
        populate(system.store, actors, 5, 4, lambda n: None)
        system.keep_current()
        assert system.audit.checkpoints() == first
        # Once the interval has passed, the next pass takes one.
        system.audit.checkpoint_every = timedelta(0)
        system.keep_current()
        second = system.audit.checkpoints()
        assert len(second) == 2 and second[1]["position"] == system.audit.head().position
        # A quiet system does not pile up copies of the same head.
        system.keep_current()
        assert system.audit.checkpoints() == second

        # Rewriting history and recomputing the chain is caught by the
        # database's own signed checkpoints, given the public key.
        rewrite_history(system)
    finally:
        system.close()
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    code, out, _ = run(capsys, "audit", "verify", "--public-key", str(public), "--json")
    result = json.loads(out)
    assert code == 3 and not result["ok"]
    assert any("kept in the database" in p and "rewritten" in p for p in result["problems"])
