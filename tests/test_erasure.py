"""Crypto-shredding (issue 15 item 2): personal fields sealed under the
migrant's own key, maker-checker erasure by two data-protection officers, a
destroyed key reading as "erased" on replay, and after an erasure neither
the SQLite file (with its WAL) nor a pg_dump holds the person's strings."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.cases.commands import ApproveErasure, CorrectRegistration, RequestErasure
from domain.errors import IllegalTransition, NotAuthorised
from domain.model import Actor
from domain.officers.commands import RegisterOfficer
from domain.personal import ERASED
from domain.values import Role
from msafiri.bootstrap import build_system
from tests import test_nats
from tests.factories import registration, send_abroad


def _dpo(system, officers, username: str) -> Actor:
    officer_id = system.officers.register(
        officers.admin,
        RegisterOfficer(
            username=username,
            full_name=f"Data Officer {username}",
            station="Nairobi HQ",
            roles=(Role.DATA_PROTECTION_OFFICER,),
        ),
    )
    return Actor(officer_id=officer_id, role=Role.DATA_PROTECTION_OFFICER)


def test_erasure_needs_two_different_data_protection_officers(system, officers):
    migrant_id = system.cases.register(
        officers.registrar, registration(national_id="31234567", passport_number="AK1234567")
    )
    dpo, dpo2 = _dpo(system, officers, "dpo"), _dpo(system, officers, "dpo2")
    with pytest.raises(NotAuthorised):
        system.cases.request_erasure(
            officers.registrar, RequestErasure(migrant_id=migrant_id, legal_basis="GDPR art 17")
        )
    system.cases.request_erasure(
        dpo, RequestErasure(migrant_id=migrant_id, legal_basis="DPA 2019 s.40 request 12")
    )
    with pytest.raises(IllegalTransition, match="different"):
        system.cases.approve_erasure(dpo, ApproveErasure(migrant_id=migrant_id))
    with pytest.raises(NotAuthorised):
        system.cases.approve_erasure(officers.auditor, ApproveErasure(migrant_id=migrant_id))
    migrant = system.cases.approve_erasure(dpo2, ApproveErasure(migrant_id=migrant_id))
    assert migrant.erased
    with pytest.raises(IllegalTransition, match="erased"):
        system.cases.execute(
            officers.registrar,
            CorrectRegistration(migrant_id=migrant_id, phone="+254700000001", reason="typo"),
        )


def test_a_destroyed_key_reads_as_erased_and_the_other_person_stays(system, officers, settings):
    erased_id = system.cases.register(
        officers.registrar,
        registration(
            full_name="Zawadi Qzxgone", national_id="31111111", passport_number="AK1111111"
        ),
    )
    kept_id = system.cases.register(
        officers.registrar,
        registration(full_name="Neema Kept", national_id="32222222", passport_number="AK2222222"),
    )
    keys = system.store.mapper.data_keys
    assert keys.destroy(str(erased_id)) == 1
    fresh = build_system(settings)  # no key cached
    try:
        gone = fresh.cases.get(erased_id)
        assert (gone.full_name, gone.national_id, gone.phone) == (ERASED, ERASED, ERASED)
        assert gone.date_of_birth == ERASED and gone.sex is not None
        assert fresh.cases.get(kept_id).full_name == "Neema Kept"
    finally:
        fresh.close()


def _dump(system) -> bytes:
    import shutil
    import subprocess
    from pathlib import Path

    if system.database.backend == "sqlite":
        path = system.database.path
        return b"".join(
            Path(f"{path}{suffix}").read_bytes()
            for suffix in ("", "-wal", "-journal")
            if Path(f"{path}{suffix}").exists()
        )
    pg_dump = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    url = system.settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run([pg_dump, url], check=True, capture_output=True).stdout


# The erased person's identifying strings, and the other person's.
GONE = {
    "full_name": "Zawadi Qzxgone",
    "national_id": "31111119",
    "passport_number": "AK1111119",
    "phone": "+254711119999",
}
GONE_MARKER = "Qzxnarrative"  # written in an incident narrative about her
GONE_PAYEE = "Qzxpayee Clinic"  # the payee of a disbursement for her
# The fund's payment reference (a mobile-money or bank transaction id): with
# the provider's records it names her, so it is hers to erase too.
GONE_REFERENCE = "MPESA-QZXPAYREF1"
KEPT = {"full_name": "Neema Qzxkept", "national_id": "32222229", "passport_number": "AK2222229"}
KEPT_PAYEE = "Qzxkeptpayee Hospital"
SECRETS = (
    b"Qzxgone",
    b"31111119",
    b"AK1111119",
    b"254711119999",
    b"Qzxnarrative",
    b"Qzxpayee",
    b"QZXPAYREF1",
)


def _incident(system, officers, migrant_id, description: str):
    from datetime import UTC, datetime, timedelta

    from domain.incidents import commands as ic

    now = datetime.now(UTC)
    return system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            migrant_id=migrant_id,
            category="injury",
            severity="high",
            occurred_at=now - timedelta(days=3),
            reported_at=now - timedelta(days=1),
            channel="hotline",
            description=description,
        ),
    )


def two_people_with_money(system, officers):
    """Both sent abroad, each with an incident and fund disbursements: one
    paid (payee in posted memos) and one approved but unpaid (payee in an
    open reservation, so in the book's snapshots)."""
    from tests.fund_helpers import approve, open_fund, pay, request

    open_fund(system, officers)
    people = {}
    for name, fields, marker, payee, reference in (
        ("gone", GONE, GONE_MARKER, GONE_PAYEE, GONE_REFERENCE),
        ("kept", KEPT, "Qzxkeptnarrative", KEPT_PAYEE, "MPESA-QZXKEPTREF"),
    ):
        migrant_id = send_abroad(system, officers, **fields)
        incident_id = _incident(system, officers, migrant_id, f"Fell at work ({marker}).")
        paid = request(system, officers.attache, migrant_id, incident_id, 20_000, payee=payee)
        approve(system, officers.fund, paid)
        pay(system, officers.fund, paid, payment_reference=reference)
        owed = request(
            system, officers.attache, migrant_id, incident_id, 5_000, "legal_aid", payee=payee
        )
        approve(system, officers.fund, owed)
        people[name], people[f"{name}_incident"] = migrant_id, incident_id
    return people


def _narrative(system, incident_id) -> str:
    [reported] = list(system.store.events.get(incident_id, lte=1))
    return reported.description


def _opened_snapshots(system) -> list[bytes]:
    """Every stored book snapshot, opened with the master key only (what a
    holder of the master key, but not of an erased data key, could read)."""
    ledger = system.ledger
    return [
        system.store.mapper.open(stored)
        for stored in ledger.snapshots.recorder.select_events(ledger.book_id)
    ]


def _balances_match_the_export(capsys, monkeypatch, system, tmp_path) -> None:
    """`ledger export` passes bean-check and its balances equal `fund balances`
    to the minor unit."""
    import json
    import subprocess
    import sys
    from decimal import Decimal
    from pathlib import Path

    from beancount import loader
    from beancount.core import realization

    from domain.officers.commands import SetPassword
    from domain.values import minor_unit_exponent
    from tests.test_fund_cli import run

    monkeypatch.setenv("MSAFIRI_DATABASE_URL", system.settings.database_url)
    # The export is logged: an auditor, signed in, makes it.
    auditor = next(o for o in system.read_models.queries.officers() if o.username == "auditor")
    password = "a long passphrase for the auditor"
    system.officers.set_password(
        Actor(officer_id=UUID(auditor.officer_id), role=Role.AUDITOR),
        SetPassword(username="auditor", password=password),
    )
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", password)
    target = tmp_path / "fund.beancount"
    as_auditor = ("--officer", "auditor", "--role", "auditor")
    code, _, err = run(capsys, *as_auditor, "ledger", "export", "--output", str(target))
    assert code == 0, err
    bean_check = Path(sys.executable).with_name("bean-check")
    checked = subprocess.run([str(bean_check), str(target)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    code, out, err = run(capsys, "fund", "balances", "--json")
    assert code == 0, err
    entries, errors, _ = loader.load_file(str(target))
    assert errors == []
    real = realization.realize(entries)
    rows = json.loads(out)
    assert rows
    for row in rows:
        node = realization.get(real, row["account"])  # a dict: empty when unused
        position = 0 if node is None else node.balance.get_currency_units(row["currency"]).number
        expected = Decimal(row["debits_minor"] - row["credits_minor"]).scaleb(
            -minor_unit_exponent(row["currency"])
        )
        assert Decimal(position or 0) == expected, row["account"]


def test_after_erasure_the_database_holds_none_of_the_persons_strings(
    system, officers, capsys, monkeypatch, tmp_path
):
    from ledger import service
    from msafiri.erasure import approve_and_erase

    monkeypatch.setattr(service, "SNAPSHOT_EVERY", 5)  # the book snapshotted as it goes
    people = two_people_with_money(system, officers)
    erased_id = people["gone"]
    system.ledger.snapshot_now()
    system.keep_current()
    before = _dump(system)
    assert b"Qzxgone" in before and b"Qzxpayee" in before  # the read models held them
    assert GONE_MARKER in _narrative(system, people["gone_incident"])
    # A snapshot holds her open reservation; its memo (naming the payee) is
    # sealed under her disbursement's key, not only under the master key.
    opened = b"".join(_opened_snapshots(system))
    assert opened and b"Qzxpayee" not in opened
    [latest] = system.ledger.snapshots.get(system.ledger.book_id, desc=True, limit=1)
    memos = [p.memo for p in latest.mutate().pendings.values()]
    assert f"payable to {GONE_PAYEE}" in memos and f"payable to {KEPT_PAYEE}" in memos

    dpo, dpo2 = _dpo(system, officers, "dpo"), _dpo(system, officers, "dpo2")
    system.cases.request_erasure(dpo, RequestErasure(migrant_id=erased_id, legal_basis="DPA s.40"))
    assert approve_and_erase(system, dpo2, erased_id) >= 3  # case, incident, disbursements
    system.keep_current()
    after = _dump(system)
    for secret in SECRETS:
        assert secret not in after, secret
    for kept in (b"Qzxkept", b"32222229", b"AK2222229", b"Qzxkeptpayee", b"QZXKEPTREF"):
        assert kept in after, kept  # the other person's data is intact
    # A fresh process reads her narrative and her reservation's memo as
    # erased, his as written.
    fresh = build_system(system.settings)
    try:
        assert _narrative(fresh, people["gone_incident"]) == ERASED
        assert "Qzxkeptnarrative" in _narrative(fresh, people["kept_incident"])
        memos = [p.memo for p in fresh.ledger.book().pendings.values()]
        assert f"payable to {KEPT_PAYEE}" in memos and ERASED in memos
        assert not any("Qzxpayee" in m for m in memos)
        assert fresh.cases.get(erased_id).full_name == ERASED
    finally:
        fresh.close()
    # The chain is over the stored bytes, which the erasure left as they were.
    from tests.test_encryption import verify_cli

    code, report = verify_cli(capsys, monkeypatch, system)
    assert code == 0, str(report)
    _balances_match_the_export(capsys, monkeypatch, system, tmp_path)


def test_a_snapshot_stored_with_plain_memos_is_dropped_by_the_erasure(
    system, officers, monkeypatch
):
    """Snapshots stored before memos were sealed hold the payee under the
    master key only: the erasure deletes those naming the person."""
    from msafiri.erasure import approve_and_erase

    people = two_people_with_money(system, officers)
    mapper = system.store.mapper
    system.ledger.book()  # read with the keys; then snapshotted as an older version did
    keys, mapper.data_keys = mapper.data_keys, None
    try:
        system.ledger.snapshot_now()
    finally:
        mapper.data_keys = keys
    assert b"Qzxpayee" in b"".join(_opened_snapshots(system))
    dpo, dpo2 = _dpo(system, officers, "dpo"), _dpo(system, officers, "dpo2")
    system.cases.request_erasure(
        dpo, RequestErasure(migrant_id=people["gone"], legal_basis="DPA s.40")
    )
    approve_and_erase(system, dpo2, people["gone"])
    opened = _opened_snapshots(system)
    assert opened, "a fresh snapshot replaces the dropped one"
    assert not any(b"Qzxpayee" in state for state in opened)
    assert b"Qzxkeptpayee" not in b"".join(opened)  # sealed under his key now
    fresh = build_system(system.settings)
    try:
        memos = [p.memo for p in fresh.ledger.book().pendings.values()]
        assert f"payable to {KEPT_PAYEE}" in memos and ERASED in memos
    finally:
        fresh.close()


def test_transfer_records_hold_no_personal_data():
    """A posted transfer's own record (ledger/transfer.py) keeps ids, legs
    and amounts only: nothing in it names a person, so nothing to erase."""
    from domain.model import DomainEvent
    from ledger import events as e

    assert set(e.TransferRecorded.model_fields) - set(DomainEvent.model_fields) == {
        "book_id",
        "transfer_id",
        "kind",
        "legs",
        "disbursement_id",
        "reverses",
    }
    assert set(e.Leg.model_fields) == {"account", "currency", "debit_minor", "credit_minor"}


# --- an interrupted erasure is finished by --reapply -------------------------------


def _requested(system, officers, **fields):
    migrant_id = system.cases.register(officers.registrar, registration(**fields))
    dpo, dpo2 = _dpo(system, officers, "dpo"), _dpo(system, officers, "dpo2")
    system.cases.request_erasure(dpo, RequestErasure(migrant_id=migrant_id, legal_basis="DPA s.40"))
    return migrant_id, dpo, dpo2


def test_an_erasure_stopped_before_its_keys_went_is_finished_by_reapply(system, officers):
    """The approval is recorded, then the process dies: the keys still open
    the data. `reapply` (a data-protection officer) finishes it; a case
    without an approved erasure is refused, and so is any other role."""
    from msafiri.erasure import reapply

    migrant_id, dpo, dpo2 = _requested(system, officers, **GONE)
    other = system.cases.register(officers.registrar, registration(**KEPT))
    system.cases.approve_erasure(dpo2, ApproveErasure(migrant_id=migrant_id))  # then a crash
    system.keep_current()
    assert b"Qzxgone" in _dump(system)
    with pytest.raises(NotAuthorised):
        reapply(system, officers.registrar, [migrant_id])
    with pytest.raises(IllegalTransition, match=r"no erasure .* was approved"):
        reapply(system, dpo, [other])
    assert reapply(system, dpo, [migrant_id]) == [migrant_id]
    system.keep_current()
    after = _dump(system)
    for secret in SECRETS[:4]:
        assert secret not in after, secret
    assert b"Qzxkept" in after
    assert system.read_models.queries.get_case(str(migrant_id)).full_name == ERASED


def test_an_erasure_stopped_before_the_scrub_is_finished_from_the_command_line(
    system, settings, capsys, monkeypatch
):
    """Keys destroyed, then the process dies before the read models were
    scrubbed: they still hold the person. `case erase --reapply` (every
    erasure the log records) finishes it; running it again changes nothing."""
    from msafiri.demo.officers import ensure_demo_officers
    from tests.test_encryption import verify_cli
    from tests.test_fund_cli import run

    actors = ensure_demo_officers(system)  # officers who can sign in on the CLI
    migrant_id = system.cases.register(actors["registrar"], registration(**GONE))
    system.keep_current()  # the read models hold her
    system.cases.request_erasure(
        actors["dpo"], RequestErasure(migrant_id=migrant_id, legal_basis="DPA s.40")
    )
    system.cases.approve_erasure(actors["dpo2"], ApproveErasure(migrant_id=migrant_id))
    assert system.store.mapper.data_keys.destroy(str(migrant_id)) == 1  # then a crash
    system.keep_current()
    assert b"Qzxgone" in _dump(system)  # the read models were not rebuilt

    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    dpo = ("--officer", "demo.dpo", "--role", "data_protection_officer")
    code, out, err = run(capsys, *dpo, "case", "erase", "--reapply")
    assert code == 0, err
    assert out.startswith("re-applied 1 erasure(s)")
    after = _dump(system)
    for secret in SECRETS[:4]:
        assert secret not in after, secret
    code, out, err = run(capsys, *dpo, "case", "erase", "--reapply")  # idempotent
    assert code == 0 and out.startswith("re-applied 1 erasure(s)"), err
    assert _dump(system).count(b"Qzxgone") == 0
    code, report = verify_cli(capsys, monkeypatch, system)
    assert code == 0, str(report)
    # One of --reason, --approve, --reapply; a CASE unless re-applying all.
    code, _, err = run(capsys, *dpo, "case", "erase", "--approve")
    assert code == 2 and "name the CASE" in err
    code, _, err = run(capsys, *dpo, "case", "erase", "--approve", "--reapply")
    assert code == 2 and "one of --reason" in err


# --- the stream publishes nothing new about an erased person ------------------------

# The NATS tests' fixtures (a real JetStream server, a stream per test).
nats_url = test_nats.nats_url
nats_settings = test_nats.nats_settings
nats_system = test_nats.nats_system


def test_after_erasure_the_stream_publishes_nothing_new_about_the_person(
    nats_system, nats_settings, officers
):
    """Against the real JetStream server: after the erasure nothing about
    the person is published - neither the erasure, nor what was recorded
    before it and not yet sent, nor what follows on their incident - while
    the other person's events still flow."""
    from domain.cases import commands as c
    from domain.incidents import commands as ic
    from msafiri.erasure import approve_and_erase
    from tests.factories import days_ago
    from tests.test_consent import _about
    from tests.test_nats import publish_all, read_stream

    system = nats_system
    gone = send_abroad(system, officers, **GONE)
    kept = send_abroad(system, officers, **KEPT)
    incident_id = _incident(system, officers, gone, f"Fell at work ({GONE_MARKER}).")
    publish_all(system)
    before = read_stream(nats_settings)
    assert _about(before, gone) and _about(before, kept)

    check = c.RecordWelfareCheck(
        migrant_id=gone, channel="phone_call", status="concerns", checked_on=days_ago(2)
    )
    system.cases.execute(officers.attache, check)  # recorded, not yet published
    dpo, dpo2 = _dpo(system, officers, "dpo"), _dpo(system, officers, "dpo2")
    system.cases.request_erasure(dpo, RequestErasure(migrant_id=gone, legal_basis="DPA s.40"))
    approve_and_erase(system, dpo2, gone)
    # The incident about her goes on (its fields read "erased" from now on).
    system.incidents.execute(
        officers.attache, ic.AssessIncident(incident_id=incident_id, severity="medium", notes=".")
    )
    system.cases.execute(officers.attache, check.model_copy(update={"migrant_id": kept}))

    progress = publish_all(system)
    new = read_stream(nats_settings)[len(before) :]
    assert _about(new, gone) == []
    assert not any(p["aggregate_id"] == str(incident_id) for _, _, p in new)
    raw = str(new).encode()
    for secret in SECRETS:
        assert secret not in raw, secret
    # The check, the request, the erasure and the assessment: skipped, counted.
    assert progress.withheld == 4
    assert [p["type"] for p in _about(new, kept)] == ["WelfareCheckRecorded"]

    # A publisher started afresh (a restart) learns the erasure from the log.
    system.incidents.execute(
        officers.attache, ic.AssessIncident(incident_id=incident_id, severity="high", notes="..")
    )
    progress = publish_all(system)
    assert progress.withheld == 1
    assert _about(read_stream(nats_settings)[len(before) :], gone) == []


def test_rows_sealed_in_a_batch_get_their_keys_together(system, monkeypatch):
    """The demo's writer seals rows built by workers in batches: the keys a
    batch needs are made in one transaction (`SqlDataKeys.prepare`), each
    person's data opens with them, and erasing one still works."""
    from msafiri.demo.officers import ensure_demo_officers
    from msafiri.demo.population import populate
    from msafiri.erasure import approve_and_erase

    monkeypatch.setattr("msafiri.demo.population.MIGRANTS_PER_SAVE", 10)
    actors = ensure_demo_officers(system)
    keys = system.store.mapper.data_keys
    prepared: list[int] = []
    prepare = keys.prepare
    monkeypatch.setattr(
        keys, "prepare", lambda wanted: (prepared.append(len(wanted)), prepare(wanted))
    )
    populate(system.store, actors, 25, seed=3, workers=1)
    assert prepared and max(prepared) >= 10  # a batch's keys at once, not one by one
    system.keep_current()
    cases = system.read_models.queries.db.fetchall(
        "SELECT migrant_id, full_name FROM rm_cases ORDER BY migrant_id"
    )
    assert len(cases) == 25 and all(name != ERASED for _, name in cases)
    subjects = {
        row[0]
        for row in system.read_models.queries.db.fetchall("SELECT DISTINCT subject FROM data_keys")
    }
    assert {migrant_id for migrant_id, _ in cases} <= subjects
    migrant_id = UUID(cases[0][0])
    system.cases.request_erasure(
        actors["dpo"], RequestErasure(migrant_id=migrant_id, legal_basis="DPA s.40")
    )
    assert approve_and_erase(system, actors["dpo2"], migrant_id) >= 1
    fresh = build_system(system.settings)
    try:
        assert fresh.cases.get(migrant_id).full_name == ERASED
        assert fresh.cases.get(UUID(cases[1][0])).full_name == cases[1][1]
    finally:
        fresh.close()


def test_erasure_forgets_what_was_typed_on_claims_and_coverage(system, officers):
    """Issue 16: claim notes, the reason above a claim, policy and
    social-security numbers are the person's: gone with their key."""
    from domain.coverage import commands as vc
    from msafiri.erasure import approve_and_erase
    from tests.claims_helpers import open_claim, recover, wage_incident
    from tests.factories import days_ago, send_abroad

    erased_id = send_abroad(system, officers, full_name="Amani Qzxgone")
    incident_id = wage_incident(system, officers, erased_id)
    claim_id = open_claim(
        system, officers.attache, erased_id, incident_id, notes="Qzxnote about the employer"
    )
    recover(system, officers.attache, claim_id, 700_000, reason_above_claimed="Qzxreason interest")
    system.coverage.record_insurance(
        officers.registrar,
        vc.RecordInsurance(
            migrant_id=erased_id,
            insurer="Tawuniya",
            policy_number="QZXPOLICY77",
            valid_from=days_ago(300),
            valid_until=days_ago(-300),
        ),
    )
    system.keep_current()
    assert b"QZXPOLICY77" in _dump(system) and b"Qzxnote" in _dump(system)
    dpo, dpo2 = _dpo(system, officers, "dpo"), _dpo(system, officers, "dpo2")
    system.cases.request_erasure(dpo, RequestErasure(migrant_id=erased_id, legal_basis="DPA s.40"))
    approve_and_erase(system, dpo2, erased_id)
    system.keep_current()
    after = _dump(system)
    for secret in (b"Qzxgone", b"Qzxnote", b"Qzxreason", b"QZXPOLICY77"):
        assert secret not in after, secret
    # The amounts stay: the books of a claim are not personal.
    from domain.viewer import NOBODY

    [claim] = system.read_models.queries.claims.for_case(NOBODY, str(erased_id))
    assert claim.recovered_minor == 700_000 and claim.notes == "erased"
