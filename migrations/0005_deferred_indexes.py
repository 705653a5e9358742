"""Where a full rebuild keeps the read models' query-only indexes while it
runs without them.

A full rebuild (`msafiri projections rebuild`) drops the indexes that only
serve the screens (e.g. `rm_cases_stage`), fills the emptied tables, and
builds those indexes once at the end: one sorted pass each instead of an
entry per inserted row (see `projections/runner.py`). Their definitions are
read from the database's own catalogue and written here in the transaction
that drops them, so a rebuild killed half-way still finds them: the next
catch-up recreates exactly these, and deletes the rows in the transaction
that does. Empty whenever no rebuild is under way.
"""

from yoyo import step

__depends__ = {"0004_search_filters"}


def apply(conn) -> None:
    conn.cursor().execute(
        "CREATE TABLE rm_deferred_indexes ("
        " index_name TEXT PRIMARY KEY,"
        " table_name TEXT NOT NULL,"
        " definition TEXT NOT NULL)"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    # A rebuild under way still holds indexes here: put them back first.
    cursor.execute("SELECT definition FROM rm_deferred_indexes")
    for (definition,) in cursor.fetchall():
        cursor.execute(definition)
    cursor.execute("DROP TABLE rm_deferred_indexes")


steps = [step(apply, rollback)]
