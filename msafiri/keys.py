"""The master keys of encryption at rest: where they come from, how the key
file is made and guarded, and whether they open the configured database.

The key file (MSAFIRI_KEY_FILE, default `<user config dir>/msafiri/master.key`)
holds one key a line, the current one (seals new events) first:

    current 3f2a9c1b q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=
    retired 7d0e4a55 ...

It is created with mode 0600 (its folder 0700) the first time Msafiri opens a
database that has no events; a database that has events is never given a
new key (that key could not open them). A file that its group or others may
read is refused, as ssh refuses a loose private key. MSAFIRI_MASTER_KEY (for
services: base64 keys, comma-separated, current first) takes its place.
Keys are never printed, logged or exported; only their ids are.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.sealing import Keyring, key_id, new_key, stored_key_id
from msafiri.settings import ConfigurationError, Database, Settings
from projections.audit.store import EVENT_TABLES

HEADER = (
    "# Msafiri master keys (docs/encryption.md). Secret: never share, print or mail it.\n"
    "# Back it up apart from the database: the database cannot be read without it.\n"
    "# The 'current' key encrypts new events; 'retired' keys still read older ones.\n"
)


class KeyProblem(ConfigurationError):
    """The master key is missing, wrong, unreadable or badly guarded: one line."""


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def _unb64(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem(f"{where}: a key is not base64") from None
    if len(key) != 32:
        raise KeyProblem(f"{where}: a key is {len(key)} bytes; master keys are 32 (AES-256)")
    return key


def format_key_file(current: bytes, retired: list[bytes]) -> str:
    lines = [f"current {key_id(current).hex()} {_b64(current)}"]
    lines += [f"retired {key_id(key).hex()} {_b64(key)}" for key in retired]
    return HEADER + "\n".join(lines) + "\n"


def parse_key_file(text: str, path: Path) -> tuple[bytes, list[bytes]]:
    current: list[bytes] = []
    retired: list[bytes] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"key file {path}, line {number}"
        parts = line.split()
        if len(parts) != 3 or parts[0] not in ("current", "retired"):
            raise KeyProblem(f"{where}: expected 'current|retired <key id> <base64 key>'")
        key = _unb64(parts[2], where)
        if key_id(key).hex() != parts[1].lower():
            raise KeyProblem(f"{where}: the key id {parts[1]} is not that key's id")
        (current if parts[0] == "current" else retired).append(key)
    if len(current) != 1:
        raise KeyProblem(f"key file {path}: needs exactly one 'current' key, has {len(current)}")
    return current[0], retired


def parse_env_keys(value: str) -> tuple[bytes, list[bytes]]:
    texts = [t for t in value.replace("\n", ",").split(",") if t.strip()]
    if not texts:
        raise KeyProblem("MSAFIRI_MASTER_KEY is empty: give base64 keys, the current one first")
    keys = [_unb64(text, "MSAFIRI_MASTER_KEY") for text in texts]
    return keys[0], keys[1:]


def check_permissions(path: Path) -> None:
    """Refuse a key file its group or others may read or change."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProblem(
            f"key file {path} is open to other users (mode {stat.S_IMODE(mode):04o}); "
            f"refusing it: run chmod 600 {path}"
        )


def read_key_file(path: Path) -> tuple[bytes, list[bytes]]:
    check_permissions(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise KeyProblem(f"cannot read key file {path}: {error.strerror}") from None
    return parse_key_file(text, path)


def _write_new(path: Path, text: str) -> None:
    """Create `path` with mode 0600 from the start (never readable by
    others, not even for a moment); FileExistsError if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def create_key_file(path: Path) -> None:
    """A new key file with one fresh key (its folder made 0700 if new). It
    appears complete or not at all (written aside, then hard-linked into
    place), so a process starting beside this one never reads half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary.unlink(missing_ok=True)
        _write_new(temporary, format_key_file(new_key(), []))
        os.link(temporary, path)
    except FileExistsError:
        return  # another process made it first: use theirs
    except OSError as error:
        raise KeyProblem(f"cannot create key file {path}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def rotate_key_file(path: Path) -> tuple[str, str]:
    """A new current key; the old one becomes retired (still reads its
    events). The file is replaced atomically. Returns (old id, new id)."""
    current, retired = read_key_file(path)
    fresh = new_key()
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    _write_new(temporary, format_key_file(fresh, [current, *retired]))
    os.replace(temporary, path)
    return key_id(current).hex(), key_id(fresh).hex()


def stored_key_ids(connect: Callable[[], Any], backend: str) -> list[str | None]:
    """The key ids of the first and the latest stored event (None for an
    event that is not encrypted); [] when there are none. Two rows, not a
    scan: enough to tell a wrong key from the right one before writing."""
    table, position = EVENT_TABLES[backend]
    conn = connect()
    try:
        if backend == "sqlite":
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
        else:
            found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        if not found:
            return []
        rows = conn.execute(
            f"SELECT state FROM {table} WHERE {position} IN "
            f"((SELECT MIN({position}) FROM {table}), (SELECT MAX({position}) FROM {table}))"
        ).fetchall()
    finally:
        conn.close()
    return [stored_key_id(bytes(row[0])) for row in rows]


def open_keyring(
    settings: Settings, database: Database, connect: Callable[[], Any]
) -> Keyring | None:
    """The keyring that seals and opens this database's events (None when
    encryption is switched off), or KeyProblem in one line - before anything
    is written."""
    stored = stored_key_ids(connect, database.backend)
    sealed = [kid for kid in stored if kid is not None]
    if settings.encryption == "off":
        if sealed:
            raise KeyProblem(
                f"the events in {database.url} are encrypted; MSAFIRI_ENCRYPTION=off "
                f"(for benchmarks) cannot open them"
            )
        return None
    if stored and not sealed:
        raise KeyProblem(
            f"the events in {database.url} are not encrypted (written with "
            f"MSAFIRI_ENCRYPTION=off or before encryption at rest); set MSAFIRI_ENCRYPTION=off "
            f"to read it"
        )
    if settings.master_key is not None:
        source = "MSAFIRI_MASTER_KEY"
        current, retired = parse_env_keys(settings.master_key.get_secret_value())
        reload = None
    else:
        path = settings.key_file.expanduser()
        source = f"the key file {path}"
        if not path.exists():
            if stored:
                raise KeyProblem(
                    f"{source} does not exist, and the events in {database.url} are "
                    f"encrypted (key id {sealed[0]}): restore the key file from its backup "
                    f"or set MSAFIRI_KEY_FILE; a new key would not open them"
                )
            create_key_file(path)
        current, retired = read_key_file(path)

        def reload() -> list[bytes]:
            try:
                now, old = read_key_file(path)
            except KeyProblem:
                return []
            return [now, *old]

    keyring = Keyring(current, retired, reload=reload)
    if sealed and not set(sealed) & set(keyring.key_ids):
        raise KeyProblem(
            f"{source} does not open {database.url} (its events are under key id "
            f"{sealed[0]}; the keys held are {', '.join(keyring.key_ids)})"
        )
    return keyring
