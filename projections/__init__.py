"""Read models: exactly-once, batched projections of the event log.

Entry point for the composition root: `open_read_models(settings, database,
store)` (see `projections/readmodels.py`); the read API is `projections/queries.py`.
"""

from __future__ import annotations

from typing import Any


def open_read_models(
    settings: Any,
    database: Any,
    store: Any = None,
    check_schema: bool = True,
    read_database: Any = None,
):
    # Imported lazily so `import projections.audit` (and the layering test)
    # stays light.
    from projections.readmodels import open_read_models as _open

    return _open(settings, database, store, check_schema, read_database)
