"""The demo fund's books, checked by an independent tool: Beancount."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import realization

from domain.values import minor_unit_exponent
from ledger.demo import populate_fund
from ledger.export import to_beancount, to_csv
from tui.demo.officers import ensure_demo_officers
from tui.demo.population import populate


def test_demo_fund_passes_bean_check_and_balances_match_to_the_minor_unit(system, tmp_path):
    actors = ensure_demo_officers(system)
    rng = populate(system.store, actors, 400, 7, lambda n: None)
    counts = populate_fund(system, rng, actors, progress=lambda n: None)
    assert counts["paid"] > 0 and counts["contributions"] > 0 and counts["reversed"] > 0

    text = to_beancount(system.store, system.ledger.book_id)
    entries, errors, _ = loader.load_string(text)
    assert errors == []
    path = Path(tmp_path / "fund.beancount")
    path.write_text(text)
    bean_check = Path(sys.executable).with_name("bean-check")
    assert subprocess.run([str(bean_check), str(path)], capture_output=True).returncode == 0

    real = realization.realize(entries)
    book = system.ledger.book()
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
