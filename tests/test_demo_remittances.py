"""The demo's contributions go through the registry import (issue 17, item 6):
each month's NEA remittance is a contributions file, one ledger batch per
reference, idempotent by that reference - and `demo --add` remits again."""

from __future__ import annotations

from ledger.chart import CONTRIBUTIONS
from ledger.demo import CONTRIBUTION_KES
from ledger.events import TransferPosted
from ledger.vocabulary import TransferKind
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from msafiri.registry_import import contribution_batch_id


def _contributions(system) -> list[TransferPosted]:
    notifications = system.store.recorder.select_notifications(
        start=1, limit=1_000_000, topics=["ledger.events:TransferPosted"]
    )
    events = [system.store.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if e.kind is TransferKind.CONTRIBUTION]


def test_the_demo_remits_through_the_import_and_add_remits_again(system):
    actors = ensure_demo_officers(system)
    first = populate_with_fund(system, actors, 200, seed=3, workers=0)
    second = populate_with_fund(system, actors, 100, seed=3, workers=0)
    assert first["contributions"] > 0 and second["contributions"] > 0

    posted = _contributions(system)
    # Every remittance is the import's: its transfer id is the one the
    # import derives from its reference (what makes a re-import a no-op).
    for event in posted:
        day = event.occurred_at.date()
        assert event.transfer_id == contribution_batch_id(event.reference, day, "KES")
    # `--add` remits for the same months: its references are its own, so
    # none of its lines was taken for one already imported.
    references = [event.reference for event in posted]
    assert len(references) == len(set(references))
    lines = sum(len(event.contributions) for event in posted)
    assert lines == first["contributions"] + second["contributions"]
    book = system.ledger.book()
    assert book.account(CONTRIBUTIONS, "KES").posted == lines * CONTRIBUTION_KES * 100
