"""Secrets never leave: an officer's password hash is in the log (sign-in
works from it), and nowhere else - not in the auditor's export, a case
export, the TUI's event screens, `audit as-of`, or the NATS payloads; and
the messages an auditor or officer reads say what they mean."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from domain.ids import officer_id
from domain.viewer import NOBODY
from integration.payloads import build_message, keyed_hasher, plan_for, public_model
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from projections.audit.secret_fields import SECRET_FIELDS, WITHHELD
from projections.catalogue import event_classes
from tests.test_fund_cli import run
from tui.app.readside import ReadSide

VERIFY_CHAIN = Path(__file__).parent.parent / "docs" / "verify_chain.py"
ARGON2 = "$argon2id$"


@pytest.fixture
def demo(settings, monkeypatch, capsys):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    # Reads name their reader in the access log: the auditor's, by default.
    monkeypatch.setenv("MSAFIRI_OFFICER", "demo.auditor")
    monkeypatch.setenv("MSAFIRI_ROLE", "auditor")
    code, _, err = run(capsys, "demo", "--migrants", "10", "--json")
    assert code == 0, err
    return settings


def password_set_positions(system) -> list[int]:
    return [
        n.id
        for n in system.store.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith("PasswordSet")
    ]


def test_no_export_stream_or_screen_carries_a_password_hash(demo, capsys, tmp_path):
    system = build_system(Settings(database_url=demo.database_url))
    try:
        positions = password_set_positions(system)
        assert positions  # the demo's officers have passwords: the log holds hashes
        stored = system.store.recorder.select_notifications(start=positions[0], limit=1)[0]
        # Stored sealed (encryption at rest); opened with the key it holds the hash.
        assert ARGON2.encode() not in bytes(stored.state)
        assert ARGON2.encode() in system.store.mapper.open(stored)

        # The TUI's event detail and who-did-what screens read trail lines.
        line = ReadSide(system, follow=False).event_at(positions[0], NOBODY)
        assert line is not None and line.payload["password_hash"] == WITHHELD
        assert ARGON2 not in json.dumps(line.payload)

        # The NATS payload (built from the stored JSON, as the publisher does).
        state = orjson.loads(system.store.mapper.open(stored))
        event_class = next(c for c in event_classes() if c.__name__ == "PasswordSet")
        message = build_message("msafiri", stored.id, event_class, state, keyed_hasher(b"k"))
        assert ARGON2.encode() not in message.payload
        assert "password_hash" not in json.loads(message.payload)["data"]
    finally:
        system.close()

    trail = tmp_path / "trail.jsonl"
    code, _, err = run(capsys, "audit", "export", "--output", str(trail))
    assert code == 0, err
    text = trail.read_text()
    assert ARGON2 not in text
    lines = [json.loads(t) for t in text.splitlines()]
    for line in lines:
        if line["stored_state_b64"] is not None:
            assert ARGON2.encode() not in base64.b64decode(line["stored_state_b64"])
    withheld = [line for line in lines if line["type"] == "PasswordSet"]
    assert len(withheld) == len(positions)
    assert all(line["stored_state_withheld"] == ["password_hash"] for line in withheld)
    assert all(line["payload"]["password_hash"] == WITHHELD for line in withheld)
    # The independent script still walks the whole chain to the same head.
    done = subprocess.run(
        [sys.executable, str(VERIFY_CHAIN), str(trail)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout
    assert f"{len(withheld)} with secrets withheld" in done.stdout

    # An officer as of now: the state shows that a password is set, not the hash.
    code, out, err = run(capsys, "audit", "as-of", str(officer_id("demo.fund")))
    assert code == 0, err
    assert ARGON2 not in out and json.loads(out)["password_hash"] == WITHHELD


def test_every_secret_field_is_left_out_of_the_published_schema():
    classes = {c.__name__: c for c in event_classes()}
    for event_type, fields in SECRET_FIELDS.items():
        event_class = classes[event_type]
        assert fields <= set(event_class.model_fields)  # the list names real fields
        assert not fields & set(public_model(event_class).model_fields)
        assert all(plan_for(event_class)[name] == "drop" for name in fields)


def test_the_chain_script_fails_a_line_without_a_chain_link(demo, capsys, tmp_path):
    trail = tmp_path / "trail.jsonl"
    assert run(capsys, "audit", "export", "--output", str(trail))[0] == 0
    lines = [json.loads(t) for t in trail.read_text().splitlines()]
    lines[5]["chain_link"] = None
    trail.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = subprocess.run(
        [sys.executable, str(VERIFY_CHAIN), str(trail)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stdout.strip() == f"line 6, position {lines[5]['position']}: no chain link"


def test_messages_say_what_they_mean(demo, capsys, tmp_path):
    # Human CSV (major units) says so in its headers; JSON keeps minor units.
    code, out, _ = run(capsys, "fund", "balances")
    header = out.splitlines()[0].split(",")
    assert code == 0 and "available" in header and not any("_minor" in h for h in header)
    bank = next(r for r in out.splitlines() if r.startswith("Assets:Bank:Operating,"))
    code, out, _ = run(capsys, "fund", "balances", "--json")
    rows = {row["account"]: row for row in json.loads(out)}
    minor = rows["Assets:Bank:Operating"]["available_minor"]
    assert isinstance(minor, int)
    available = bank.split(",")[header.index("available")]
    assert int(available.replace(".", "")) == minor  # KES: two decimals
    target = tmp_path / "tb.csv"
    code, _, _ = run(
        capsys, "ledger", "export", "--format", "trial-balance", "--output", str(target)
    )
    assert code == 0 and "_minor" not in target.read_text().splitlines()[0]

    # Roles are named with the right article.
    grant = [
        "fund", "record-grant", "donor=IOM", "received_on=2026-01-01", "reference=IOM-9",
        "amount.amount_minor=1000", "amount.currency=KES",
    ]  # fmt: skip
    code, _, err = run(capsys, "--officer", "demo.auditor", "--role", "auditor", *grant)
    assert code == 1 and err.strip().startswith("error: an auditor may not record grants")

    # A bad correction leg is one line, naming the leg; no "at least 2 items" besides.
    legs = tmp_path / "legs.json"
    legs.write_text(
        json.dumps(
            {
                "legs": [
                    {"account": "Assets:Bank:Operating", "currency": "KES", "debit_minor": "ten"},
                    {"account": "Income:Grants", "currency": "KES", "credit_minor": 1000},
                ],
                "value_date": "2026-01-01",
                "reason": "Bank charge booked twice.",
            }
        )
    )
    code, _, err = run(
        capsys, "--officer", "demo.fund", "--role", "fund_officer",
        "fund", "post-correction", "--input", str(legs),
    )  # fmt: skip
    assert code == 2 and err.strip().splitlines() == [
        "error: legs.0.debit_minor: must be a whole number"
    ]
