"""A command has succeeded once its events are stored.

What the CLI does after the commit (the fund process, the read models and
the audit chain catching up in-process) may fail - here because the audit
signing key was removed while the command ran. That is one warning line, the
exit status stays 0, nothing is lost, and the next pass (a worker, or the
next command) does the work. A key file that is missing before the command
is refused before anything is written.
"""

from __future__ import annotations

import pytest

import msafiri.cli.context as cli_context
from msafiri.bootstrap import build_system
from msafiri.demo.officers import DEMO_PASSWORD, ensure_demo_officers
from projections.audit import signing
from tests.test_fund_cli import run

REGISTER = (
    "--officer",
    "demo.registrar",
    "--role",
    "registration_officer",
    "case",
    "register",
    "full_name=Achieng Atieno",
    "sex=female",
    "date_of_birth=1997-05-02",
    "national_id=32345678",
    "phone=+254712000001",
    "county=Kisumu",
    "education=secondary",
    "skills=housekeeping",
    "registered_on=2026-01-05",
)


@pytest.fixture
def signed(settings, tmp_path, monkeypatch):
    """Demo officers in the database, no checkpoint yet (so the CLI's first
    pass takes one); the CLI configured to sign checkpoints."""
    system = build_system(settings.model_copy(update={"audit_checkpoint_minutes": 0}))
    try:
        ensure_demo_officers(system)
        system.keep_current()
    finally:
        system.close()
    key = tmp_path / "audit.pem"
    signing.generate_key(key)
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setenv("MSAFIRI_AUDIT_SIGNING_KEY_FILE", str(key))
    return key


def stored_events(settings) -> int:
    system = build_system(settings)
    try:
        return system.store.recorder.max_notification_id() or 0
    finally:
        system.close()


def test_a_failure_after_the_commit_is_a_warning_and_is_retried(
    settings, signed, monkeypatch, capsys
):
    real_build = cli_context.build_system

    def build_then_lose_the_key(*args, **kwargs):
        # The key is checked when the system is built; an operator moves it
        # away while the command runs, before the first checkpoint is signed.
        system = real_build(*args, **kwargs)
        signed.rename(signed.with_suffix(".moved"))
        return system

    monkeypatch.setattr(cli_context, "build_system", build_then_lose_the_key)
    before = stored_events(settings)
    code, out, err = run(capsys, *REGISTER, "--json")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: stored;"), err
    assert "Traceback" not in out + err
    assert "msafiri projections run" in lines[0]
    assert "case_number" in out  # the command reported what it stored
    assert stored_events(settings) > before

    # The retry is the followers' next pass, not the officer's: with the key
    # back, the chain and its signed checkpoint are taken, once.
    signed.with_suffix(".moved").rename(signed)
    monkeypatch.setattr(cli_context, "build_system", real_build)
    system = build_system(settings.model_copy(update={"audit_signing_key_file": signed}))
    try:
        assert system.audit.checkpoints() == []
        system.keep_current()
        checkpoints = system.audit.checkpoints()
        head = system.store.recorder.max_notification_id()
        assert [c["position"] for c in checkpoints] == [head]
        assert all(row.lag == 0 for row in system.read_models.status())
    finally:
        system.close()
    # Registering again is refused as a duplicate: the first one was stored.
    code, _, err = run(capsys, *REGISTER)
    assert code != 0 and "Traceback" not in err


def test_a_missing_signing_key_is_refused_before_anything_is_stored(settings, signed, capsys):
    signed.unlink()
    before = stored_events(settings)
    code, _, err = run(capsys, *REGISTER)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: MSAFIRI_AUDIT_SIGNING_KEY_FILE: {signed} does not exist "
        "(create one with `msafiri audit keygen`, or unset the variable)"
    ]
    assert stored_events(settings) == before
