"""Per-migrant data keys (crypto-shredding, docs/encryption.md).

Not read models (no `rm_` prefix, nothing rebuilds them from the log):
`data_keys` holds each migrant's data keys, wrapped (AES-GCM) by the master
key; deleting a row is the erasure of the data sealed under it.
`data_key_erasures` remembers which keys were destroyed (ids only, no
personal data), so nothing new is ever sealed under a fresh key for an
erased person. Rolling back is refused while either holds rows: it would
destroy every migrant's data, or forget erasures.
"""

from yoyo import step

__depends__: set[str] = set()


def _is_sqlite(conn) -> bool:
    return type(conn).__module__.startswith("sqlite3")


def apply(conn) -> None:
    blob = "BLOB" if _is_sqlite(conn) else "BYTEA"
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE data_keys ("
        " key_ref TEXT PRIMARY KEY,"  # the aggregate (migrant, incident, request) it seals
        " subject TEXT NOT NULL,"  # the migrant it belongs to
        f" wrapped {blob} NOT NULL,"  # the key, sealed by the master key
        " created_at TEXT NOT NULL)"
    )
    cursor.execute("CREATE INDEX data_keys_subject ON data_keys (subject)")
    cursor.execute(
        "CREATE TABLE data_key_erasures ("
        " key_ref TEXT PRIMARY KEY,"
        " subject TEXT NOT NULL,"
        " erased_at TEXT NOT NULL)"
    )
    cursor.execute("CREATE INDEX data_key_erasures_subject ON data_key_erasures (subject)")


def rollback(conn) -> None:
    cursor = conn.cursor()
    for table in ("data_keys", "data_key_erasures"):
        cursor.execute(f"SELECT count(*) FROM {table}")
        if cursor.fetchone()[0]:
            raise RuntimeError(
                f"{table} holds rows: rolling back 0013_data_keys would destroy "
                "migrants' data keys or forget erasures"
            )
    cursor.execute("DROP TABLE data_key_erasures")
    cursor.execute("DROP TABLE data_keys")


steps = [step(apply, rollback)]
