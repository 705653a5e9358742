"""Exports an auditor takes away: the journal (Beancount, CSV) and a case
history (JSON Lines with chain links). Blocking: run them in a worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from domain.viewer import Viewer
from ledger.export import to_beancount, to_csv
from projections.audit.trail import case_filter, export_lines


def export_journal(system: Any, folder: Path, fmt: str) -> Path:
    """The fund's journal as Beancount or CSV; returns the file written."""
    ledger = system.ledger
    if not ledger.fund_exists():
        raise NotFound("the fund has not been opened yet: there is no journal")
    text = to_beancount if fmt == "beancount" else to_csv
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"msafiri-journal.{'beancount' if fmt == 'beancount' else 'csv'}"
    path.write_text(text(system.store, ledger.book_id))
    return path


def export_case(
    system: Any, folder: Path, migrant_id: UUID, case_number: str, viewer: Viewer
) -> tuple[Path, int]:
    """Everything about one migrant as JSON Lines (for their own request), as
    `viewer` may see it (restricted text masked without access)."""
    system.audit.extend_chain()  # link the newest events before exporting them
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"msafiri-case-{case_number}.jsonl"
    written = 0
    with path.open("w") as file:
        disclose = system.read_models.queries.disclosure.reader(viewer).line
        for line in export_lines(
            system.store, system.audit, case_filter(migrant_id), disclose=disclose
        ):
            file.write(json.dumps(line, sort_keys=True) + "\n")
            written += 1
    return path, written
