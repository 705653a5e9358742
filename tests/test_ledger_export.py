"""The demo fund's books, checked by an independent tool: Beancount."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import realization

from domain.values import minor_unit_exponent
from ledger.export import to_beancount, to_csv
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund


def test_demo_fund_passes_bean_check_and_balances_match_to_the_minor_unit(
    system, tmp_path, monkeypatch
):
    # Book snapshots all along the demo's history, so a fresh process's book
    # (checked below too) starts from one.
    monkeypatch.setattr("ledger.service.SNAPSHOT_EVERY", 50)
    actors = ensure_demo_officers(system)
    counts = populate_with_fund(system, actors, 400, 7)
    assert counts["paid"] > 0 and counts["contributions"] > 0 and counts["reversed"] > 0

    text = to_beancount(system.store, system.ledger.book_id)
    entries, errors, _ = loader.load_string(text)
    assert errors == []
    path = Path(tmp_path / "fund.beancount")
    path.write_text(text)
    bean_check = Path(sys.executable).with_name("bean-check")
    assert subprocess.run([str(bean_check), str(path)], capture_output=True).returncode == 0

    real = realization.realize(entries)
    book = system.ledger.book()  # takes a snapshot when one is due
    fresh = build_system(system.settings)
    try:
        [latest] = fresh.ledger.snapshots.get(fresh.ledger.book_id, desc=True, limit=1)
        books = [book, fresh.ledger.book()]
    finally:
        fresh.close()
    assert 1 < latest.originator_version <= books[1].version
    for book in books:
        for account in book.accounts.values():
            node = realization.get(real, account.code)
            position = node.balance.get_currency_units(account.currency).number
            expected = Decimal(account.debits_posted - account.credits_posted).scaleb(
                -minor_unit_exponent(account.currency)
            )
            assert Decimal(position or 0) == expected, account.code

    csv_text = to_csv(system.store, system.ledger.book_id)
    assert csv_text.splitlines()[0].startswith("book_version,event_id")
    assert len(csv_text.splitlines()) > counts["paid"]
