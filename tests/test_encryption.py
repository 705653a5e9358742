"""Encryption at rest, on SQLite and PostgreSQL: stored events are sealed
(AES-GCM bound to their row) under a master key kept outside the database;
a row written, changed or copied without the key fails authentication in
the chainer, the projections and `audit verify`; a wrong or missing key is
one line; keys rotate."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import orjson
import pytest
from pydantic import SecretStr

from domain.sealing import stored_key_id
from msafiri.bootstrap import build_system
from msafiri.keys import KeyProblem, create_key_file, read_key_file, rotate_key_file
from tests.factories import registration
from tests.test_fund_cli import run

ROOT = Path(__file__).parent.parent
MARKER = "Qzxmarkerwq"


# --- reading and writing raw rows, as someone with database access would -------------


def _table(system) -> tuple[str, str, str]:
    if system.database.backend == "sqlite":
        return "stored_events", "rowid", "?"
    return "msafiri_events", "notification_id", "%s"


def raw_rows(system) -> list[tuple]:
    """(position, originator id, version, topic, state) of every stored event."""
    table, position, _ = _table(system)
    conn = system.audit.connect()
    try:
        return conn.execute(
            f"SELECT {position}, originator_id, originator_version, topic, state "
            f"FROM {table} ORDER BY {position}"
        ).fetchall()
    finally:
        conn.close()


def insert_row(system, originator_id, version: int, topic: str, state: bytes) -> int:
    """INSERT by SQL, without the key; returns the row's log position."""
    table, position, m = _table(system)
    conn = system.audit.connect()
    try:
        conn.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            f"VALUES ({m}, {m}, {m}, {m})",
            (_id_as_stored(system, originator_id), version, topic, state),
        )
        if system.database.backend != "sqlite":
            conn.commit()
        return int(conn.execute(f"SELECT MAX({position}) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _id_as_stored(system, originator_id) -> str:
    # As the library stores it: hex on SQLite, a uuid on PostgreSQL.
    uuid = UUID(str(originator_id))
    return uuid.hex if system.database.backend == "sqlite" else str(uuid)


def update_state(system, at: int, state: bytes) -> None:
    table, position, m = _table(system)
    conn = system.audit.connect()
    try:
        conn.execute(f"UPDATE {table} SET state = {m} WHERE {position} = {m}", (state, at))
        if system.database.backend != "sqlite":
            conn.commit()
    finally:
        conn.close()


def registered_row(system, migrant_id) -> tuple:
    return next(r for r in raw_rows(system) if UUID(str(r[1])) == migrant_id and r[2] == 1)


def person(number: int, **fields):
    """A registration with its own identity numbers (they must be unique)."""
    return registration(national_id=f"3{number:07d}", passport_number=f"AK{number:07d}", **fields)


def verify_cli(capsys, monkeypatch, system) -> tuple[int, dict]:
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", system.settings.database_url)
    code, out, _ = run(capsys, "audit", "verify", "--json")
    return code, json.loads(out)


@pytest.fixture
def registered(system, officers):
    """A chained, projected store with one migrant carrying the marker."""
    migrant_id = system.cases.register(
        officers.registrar,
        person(9876543, full_name=f"Zawadi {MARKER}"),
    )
    system.keep_current()
    return system, migrant_id


# --- what is at rest --------------------------------------------------------------------


def test_the_stored_bytes_hold_no_plaintext(system, officers):
    migrant_id = system.cases.register(
        officers.registrar, person(9876543, full_name=f"Zawadi {MARKER}")
    )
    rows = raw_rows(system)
    # The marker was written (the store reads it back)...
    row = registered_row(system, migrant_id)
    # (under the master key, and within it under the migrant's data key)
    assert MARKER in system.store.mapper.to_state(_stored(row))[1]["full_name"]
    # ...and no stored event holds it, nor the id number, nor any JSON.
    for *_, state in rows:
        assert stored_key_id(bytes(state)) == system.store.mapper.keyring.current_id
    if system.database.backend == "sqlite":
        # The whole file with its WAL, before any projection ran (read
        # models hold names by design; see docs/encryption.md).
        path = system.database.path
        raw = path.read_bytes() + b"".join(
            Path(f"{path}{suffix}").read_bytes()
            for suffix in ("-wal", "-journal")
            if Path(f"{path}{suffix}").exists()
        )
    else:
        raw = b"".join(bytes(r[4]) + str(r[1:4]).encode() for r in rows)
        dump = subprocess.run(
            ["pg_dump", "-t", "msafiri_events", _pg_dump_target(system)],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
        assert b"msafiri_events" in dump
        raw += dump
    assert b"MigrantRegistered" in raw  # the topic is not secret
    for secret in (MARKER.encode(), b"39876543", b'"full_name"'):
        assert secret not in raw


def _pg_dump_target(system) -> str:
    db = system.database
    return f"postgresql://{db.user}@{db.host}:{db.port}/{db.dbname}"


def _stored(row):
    from eventsourcing.persistence import StoredEvent

    return StoredEvent(
        originator_id=row[1], originator_version=row[2], topic=row[3], state=bytes(row[4])
    )


# --- forgery --------------------------------------------------------------------------


def test_a_row_inserted_by_sql_fails_authentication(registered, capsys, monkeypatch):
    system, migrant_id = registered
    row = registered_row(system, migrant_id)
    # A forger writes a plausible event in plain JSON after the chain's head.
    plain = orjson.loads(system.store.mapper.open(_stored(row)))
    plain.update(originator_version=2, full_name="Someone Else")
    position = insert_row(system, migrant_id, 2, row[3], orjson.dumps(plain))
    code, result = verify_cli(capsys, monkeypatch, system)
    assert code == 3 and not result["ok"]
    named = [p for p in result["problems"] if p.startswith(f"position {position} ")]
    assert named and f"{migrant_id}/2" in named[0] and "fails authentication" in named[0]


def test_a_row_altered_by_sql_fails_authentication(registered, capsys, monkeypatch):
    system, migrant_id = registered
    row = registered_row(system, migrant_id)
    state = bytearray(row[4])
    state[len(state) // 2] ^= 0x01
    update_state(system, row[0], bytes(state))
    code, result = verify_cli(capsys, monkeypatch, system)
    assert code == 3
    named = [p for p in result["problems"] if p.startswith(f"position {row[0]} ")]
    assert any("fails authentication" in p and f"{migrant_id}/1" in p for p in named)


@pytest.mark.parametrize("into", ["another aggregate", "another version", "another topic"])
def test_a_genuine_ciphertext_copied_into_another_row_fails(
    registered, officers, capsys, monkeypatch, into
):
    system, migrant_id = registered
    row = registered_row(system, migrant_id)
    other = system.cases.register(officers.registrar, person(1))
    system.keep_current()
    target = {
        "another aggregate": (other, 2, row[3]),
        "another version": (migrant_id, 2, row[3]),
        "another topic": (migrant_id, 2, row[3].replace("Registered", "RegistrationCorrected")),
    }[into]
    position = insert_row(system, *target, bytes(row[4]))
    code, result = verify_cli(capsys, monkeypatch, system)
    assert code == 3
    named = [p for p in result["problems"] if p.startswith(f"position {position} ")]
    assert named and "fails authentication" in named[0] and f"{target[0]}/2" in named[0]


def test_the_chainer_refuses_to_chain_a_forged_row(registered, officers, capsys, monkeypatch):
    system, migrant_id = registered
    head = system.audit.head().position
    row = registered_row(system, migrant_id)
    forged = insert_row(system, migrant_id, 2, row[3], bytes(row[4]))
    # Genuine events after it are not chained either: the chain stops at it.
    system.cases.register(officers.registrar, person(2))
    assert system.audit.extend_chain() == forged - 1 - head
    assert system.audit.head().position == forged - 1
    assert system.audit.refused is not None and system.audit.refused.position == forged
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", system.settings.database_url)
    code, out, _ = run(capsys, "audit", "chain")
    assert code == 3
    assert f"PROBLEM not chained: position {forged} (event {migrant_id}/2)" in out
    assert system.audit.head().position == forged - 1


def test_a_projection_stops_at_a_forged_event(registered):
    system, migrant_id = registered
    row = registered_row(system, migrant_id)
    forged = insert_row(system, migrant_id, 2, row[3], bytes(row[4]))
    system.read_models.catch_up()
    readers = {p.name for p in system.read_models.projections if "MigrantRegistered" in p.types}
    status = {s.name: s for s in system.read_models.status()}
    assert readers
    for name in readers:
        assert status[name].failed_id == forged, name
        assert "EventForged" in status[name].error and "fails authentication" in status[name].error
    for name in set(status) - readers:
        assert status[name].failed_id is None, name


# --- the master key -------------------------------------------------------------------


def cli_subprocess(system, key_file: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSAFIRI_")}
    env.update(
        MSAFIRI_DATABASE_URL=system.settings.database_url,
        MSAFIRI_KEY_FILE=str(key_file),
        MSAFIRI_OFFICER_PASSWORD="msafiri-demo",
    )
    return subprocess.run(
        [sys.executable, "-m", "msafiri.cli.main", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_wrong_or_missing_key_is_one_line_and_writes_nothing(registered, tmp_path):
    system, _ = registered
    before = len(raw_rows(system))
    wrong = tmp_path / "wrong.key"
    create_key_file(wrong)
    done = cli_subprocess(system, wrong, "demo", "--migrants", "3")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"error: the key file {wrong} does not open")
    assert f"key id {system.store.mapper.keyring.current_id}" in lines[0]

    missing = tmp_path / "nowhere" / "master.key"
    done = cli_subprocess(system, missing, "demo", "--migrants", "3")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "Traceback" not in done.stderr
    assert "does not exist" in lines[0] and "a new key would not open them" in lines[0]
    assert not missing.exists()  # no new key minted for a database that has events
    assert len(raw_rows(system)) == before


def test_the_key_file_is_made_0600_on_first_use(settings, tmp_path):
    key_file = tmp_path / "config" / "msafiri" / "master.key"
    system = build_system(settings.model_copy(update={"key_file": key_file}))
    try:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        current, retired = read_key_file(key_file)
        assert retired == [] and len(current) == 32
        assert system.store.mapper.keyring.current_id in key_file.read_text()
    finally:
        system.close()


def test_a_key_file_others_may_read_is_refused(settings, tmp_path, capsys, monkeypatch):
    key_file = tmp_path / "master.key"
    create_key_file(key_file)
    key_file.chmod(0o644)
    with pytest.raises(KeyProblem, match=r"open to other users \(mode 0644\).*chmod 600"):
        build_system(settings.model_copy(update={"key_file": key_file}))
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_KEY_FILE", str(key_file))
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and err.count("\n") == 1 and "chmod 600" in err


def test_the_master_key_may_come_from_the_environment(settings, tmp_path):
    import base64

    from domain.sealing import key_id, new_key

    key, other = new_key(), new_key()
    unused_file = tmp_path / "unused.key"
    env_settings = settings.model_copy(
        update={"key_file": unused_file, "master_key": SecretStr(base64.b64encode(key).decode())}
    )
    system = build_system(env_settings)
    try:
        system.officers.create_first_administrator(_first_admin())
        assert {stored_key_id(bytes(r[4])) for r in raw_rows(system)} == {key_id(key).hex()}
    finally:
        system.close()
    assert not unused_file.exists()
    wrong = env_settings.model_copy(
        update={"master_key": SecretStr(base64.b64encode(other).decode())}
    )
    with pytest.raises(KeyProblem, match="MSAFIRI_MASTER_KEY does not open"):
        build_system(wrong)


def _first_admin():
    from domain.officers.commands import CreateFirstAdministrator
    from tests.conftest import ADMIN_PASSWORD

    return CreateFirstAdministrator(
        username="admin", full_name="Amina Admin", password=ADMIN_PASSWORD
    )


def test_key_rotation_keeps_old_events_readable(settings, tmp_path, capsys, monkeypatch):
    key_file = tmp_path / "master.key"
    own = settings.model_copy(update={"key_file": key_file})
    first = build_system(own)
    try:
        from tests.conftest import Officers

        officers = Officers(first)
        before = first.cases.register(officers.registrar, person(3))
        old_id = first.store.mapper.keyring.current_id

        monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("MSAFIRI_KEY_FILE", str(key_file))
        code, out, err = run(capsys, "keys", "rotate")
        assert code == 0, err
        _, retired = read_key_file(key_file)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(retired) == 1

        second = build_system(own)
        try:
            new_id = second.store.mapper.keyring.current_id
            assert new_id != old_id and f"key id {new_id}" in out
            # Old events still read; new ones are sealed with the new key.
            assert second.store.get(before).full_name == "Wanjiku Mwangi"
            after = second.cases.register(officers.registrar, person(4))
            ids = {UUID(str(r[1])): stored_key_id(bytes(r[4])) for r in raw_rows(second)}
            assert ids[before] == old_id and ids[after] == new_id
            # A process started before the rotation reads the new key's events.
            assert first.store.get(after).national_id == "30000004"
            second.keep_current()
        finally:
            second.close()
        code, out, _ = run(capsys, "audit", "verify", "--json")
        assert code == 0 and json.loads(out)["ok"]
        code, out, _ = run(capsys, "keys", "status", "--json")
        status = json.loads(out)
        assert status["current_key_id"] == new_id and status["retired_key_ids"] == [old_id]
        assert "0600" in status["source"]
    finally:
        first.close()


def test_rotating_twice_keeps_every_older_key(tmp_path):
    key_file = tmp_path / "master.key"
    create_key_file(key_file)
    first_old, first_new = rotate_key_file(key_file)
    second_old, second_new = rotate_key_file(key_file)
    assert second_old == first_new
    current, retired = read_key_file(key_file)
    from domain.sealing import key_id

    assert key_id(current).hex() == second_new
    assert [key_id(k).hex() for k in retired] == [second_old, first_old]


def test_encryption_off_cannot_open_an_encrypted_store(registered):
    system, _ = registered
    with pytest.raises(KeyProblem, match="MSAFIRI_ENCRYPTION=off"):
        build_system(system.settings.model_copy(update={"encryption": "off"}))
