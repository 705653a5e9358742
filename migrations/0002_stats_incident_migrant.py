"""Incident statistics follow their migrant: a corrected sex moves the
migrant's incidents between cells, so each incident key names its migrant.

The statistics projection is emptied and set back to the log's start; the
runner rebuilds it on its next pass (read models are disposable).
"""

from yoyo import step

__depends__ = {"0001_read_models"}


def apply(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_stats_migrants", "rm_stats_incidents", "rm_stats_migrant_keys"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("DROP TABLE rm_stats_incident_keys")
    cursor.execute(
        "CREATE TABLE rm_stats_incident_keys ("
        " incident_id TEXT PRIMARY KEY,"
        " migrant_id TEXT NOT NULL,"
        " category TEXT NOT NULL,"
        " country TEXT NOT NULL,"
        " sex TEXT NOT NULL,"
        " is_open INTEGER NOT NULL)"
    )
    cursor.execute(
        "CREATE INDEX rm_stats_incident_keys_migrant ON rm_stats_incident_keys (migrant_id)"
    )
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'statistics'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("DROP INDEX rm_stats_incident_keys_migrant")
    cursor.execute("ALTER TABLE rm_stats_incident_keys DROP COLUMN migrant_id")


steps = [step(apply, rollback)]
