"""The members import's fast paths give the same answers as the plain ways
they replace (issue 17 item 6): case numbers, name-based ids, the mapper's
one-step sealing, and the import's pause of the cyclic garbage collector."""

from __future__ import annotations

import base64
import csv
import gc
import random
from datetime import date, timedelta
from uuid import UUID, uuid4, uuid5

import pytest

from domain.cases.aggregate import Migrant
from domain.cases.commands import RegisterMigrant
from domain.cases.events import MigrantRegistered
from domain.cases.vocabulary import IdentityDocument
from domain.ids import MSAFIRI_NAMESPACE, case_number, identity_document_id, name_id
from msafiri import registry_import
from msafiri.registry_import import MEMBERS_PER_SAVE, _given, import_members

HEADER = [
    *("full_name", "sex", "date_of_birth", "national_id", "passport_number", "phone"),
    *("county", "education", "skills", "registered_on"),
    *("membership_number", "starts_on", "ends_on"),
]


def members_file(path, count: int, bad_every: int = 0):
    """`count` members, some with a passport too; with `bad_every`, every
    n-th line has a phone the command refuses."""
    rng = random.Random(3)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(count):
            registered = date(2025, 1, 1) + timedelta(days=n % 300)
            phone = "0712345678" if bad_every and n % bad_every == 0 else "+254712345678"
            writer.writerow(
                [
                    f"Member {n}",
                    rng.choice(("female", "male")),
                    (registered - timedelta(days=30 * 365)).isoformat(),
                    f"{40_000_000 + n:08d}",
                    f"FP{n:07d}" if n % 3 == 0 else "",
                    phone,
                    "Kisumu",
                    "tvet",
                    "welding; masonry",
                    registered.isoformat(),
                    f"MWF-F-{n:07d}",
                    registered.isoformat(),
                    (registered + timedelta(days=730)).isoformat(),
                ]
            )
    return path


def old_case_number(migrant_id: UUID) -> str:
    text = base64.b32encode(migrant_id.bytes[:7]).decode()[:10]
    return f"MS-{text[:5]}-{text[5:]}"


def test_case_number_is_the_base32_of_the_ids_first_fifty_bits():
    rng = random.Random(11)
    ids = [
        UUID(int=0),
        UUID(int=2**128 - 1),
        *(UUID(int=rng.getrandbits(128)) for _ in range(5000)),
    ]
    for migrant_id in ids:
        assert case_number(migrant_id) == old_case_number(migrant_id)


def test_name_id_is_uuid5_in_the_msafiri_namespace():
    names = ["", "identity:national_id:12345678", "imported-migrant:passport:AB1234567", "é ✓ 名"]
    names += [f"identity:passport:{n:09d}" for n in range(2000)]
    for name in names:
        assert name_id(name) == uuid5(MSAFIRI_NAMESPACE, name)
        assert name_id(name).version == 5
    assert identity_document_id("passport", " ab123456 ") == uuid5(
        MSAFIRI_NAMESPACE, "identity:passport:AB123456"
    )


def test_given_keeps_the_columns_with_a_value_stripped():
    raw = {"a": " x ", "b": "   ", "c": "", "d": "y"}
    assert _given(raw, ("a", "b", "c", "d", "missing")) == {"a": "x", "d": "y"}


def test_one_step_sealing_reads_back_as_the_event(system, officers):
    """to_stored_event seals as it maps; what it stores reads back as the
    event it was given, and as the two-step way (plain row, then sealed)."""
    mapper = system.store.mapper
    migrant = Migrant.register(
        uuid4(),
        officers.registrar,
        RegisterMigrant(
            full_name="Achieng Otieno",
            sex="female",
            date_of_birth=date(1995, 5, 1),
            national_id="31234567",
            phone="+254712345678",
            county="Kisumu",
            education="tvet",
            registered_on=date(2025, 1, 2),
        ),
    )
    [event] = migrant.collect_events()
    assert isinstance(event, MigrantRegistered)
    assert event.case_number == case_number(migrant.id) == migrant.case_number
    mapper.prepare_data_keys([event])
    one_step = mapper.to_stored_event(event)
    two_step = mapper.seal(mapper.to_plain_stored_event(event))
    assert mapper.to_domain_event(one_step) == event == mapper.to_domain_event(two_step)
    assert mapper.to_state(one_step)[1] == mapper.to_state(two_step)[1]
    assert one_step.topic == two_step.topic


def test_an_import_leaves_nothing_for_the_cyclic_collector(system, officers, tmp_path):
    """The import pauses the cyclic collector (its objects are freed by
    reference counting); were it to leave cycles behind for each line, a
    large import would grow while paused. Bad lines included."""
    path = members_file(tmp_path / "members.csv", 300, bad_every=7)
    gc.collect()
    gc.disable()
    try:
        report = import_members(system, officers.registrar, path, skip_bad=True)
        garbage = gc.collect()
    finally:
        gc.enable()
    assert report.imported == 300 - report.bad_lines and report.bad_lines == 43
    assert garbage < 300
    # The collector is back as it was after an import.
    again = import_members(system, officers.registrar, path, skip_bad=True)
    assert gc.isenabled() and again.already_imported == report.imported


def national_id(n: int) -> str:
    return f"{40_000_000 + n:08d}"


def test_a_member_registered_while_the_import_writes_is_set_aside(
    system, officers, tmp_path, monkeypatch
):
    """Batches are written by one thread while the next is built. An officer
    registers a member of the last batch by hand after the import found
    nobody there: that batch's insert is refused whole, the member set
    aside as already there and the rest of the batch stored."""
    count = 2 * MEMBERS_PER_SAVE + 30
    path = members_file(tmp_path / "members.csv", count)
    built = []
    build = registry_import._member_events

    def build_and_race(members, actor):
        built.append(len(members))
        if len(built) == 3:
            system.cases.register(
                officers.registrar,
                RegisterMigrant(
                    full_name="Registered By Hand",
                    sex="male",
                    date_of_birth=date(1990, 1, 1),
                    national_id=national_id(count - 1),
                    phone="+254712345670",
                    county="Nairobi",
                    education="primary",
                ),
            )
        return build(members, actor)

    monkeypatch.setattr(registry_import, "_member_events", build_and_race)
    report = import_members(system, officers.registrar, path)
    assert built == [MEMBERS_PER_SAVE, MEMBERS_PER_SAVE, 30]
    assert (report.imported, report.already_imported) == (count - 1, 1)
    hand = system.cases.find_by_document(IdentityDocument.NATIONAL_ID, national_id(count - 1))
    assert system.cases.get(hand).full_name == "Registered By Hand"
    last = system.cases.find_by_document(IdentityDocument.NATIONAL_ID, national_id(count - 2))
    assert system.cases.get(last).full_name == f"Member {count - 2}"


def test_a_batch_that_fails_to_store_stops_the_import_after_the_ones_before(
    system, officers, tmp_path, monkeypatch
):
    """The first batch that cannot be stored ends the import: the batches
    before it are stored, it and those after it are not (the next one, built
    while it was written, is never written)."""
    count = 2 * MEMBERS_PER_SAVE + 30
    path = members_file(tmp_path / "members.csv", count)
    written = []
    save = registry_import._save_members

    def save_or_fail(store, batch):
        written.append(len(batch))
        if len(written) == 2:
            raise RuntimeError("the disk is full")
        return save(store, batch)

    monkeypatch.setattr(registry_import, "_save_members", save_or_fail)
    with pytest.raises(RuntimeError, match="the disk is full"):
        import_members(system, officers.registrar, path)
    assert written == [MEMBERS_PER_SAVE, MEMBERS_PER_SAVE]

    def held(n: int) -> bool:
        found = system.cases.find_by_document(IdentityDocument.NATIONAL_ID, national_id(n))
        return found is not None

    assert held(0) and held(MEMBERS_PER_SAVE - 1)
    assert not held(MEMBERS_PER_SAVE) and not held(count - 1)
    # Fixed, the same file stores the rest.
    monkeypatch.setattr(registry_import, "_save_members", save)
    again = import_members(system, officers.registrar, path)
    assert (again.imported, again.already_imported) == (count - MEMBERS_PER_SAVE, MEMBERS_PER_SAVE)
