"""`msafiri keys ...`: the master keys of encryption at rest.

Only key ids are ever printed; the keys themselves stay in the key file (or
MSAFIRI_MASTER_KEY). See docs/encryption.md for the rotation procedure.
"""

from __future__ import annotations

import stat

import click

from msafiri.cli.context import CliContext, emit, fail
from msafiri.keys import rotate_key_file


@click.group(name="keys", help="The master keys that encrypt the event store.")
def keys_group() -> None:
    pass


@keys_group.command(
    name="status", help="Where the keys are, their ids; checks they open the database."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(ctx: CliContext, as_json: bool) -> None:
    system = ctx.system  # building it checks the keys open the database
    keyring = system.store.mapper.keyring
    settings = ctx.settings
    if keyring is None:
        emit(as_json, {"encryption": "off"}, "encryption is OFF (MSAFIRI_ENCRYPTION=off)")
        return
    if settings.master_key is not None:
        source = "MSAFIRI_MASTER_KEY"
    else:
        path = settings.key_file.expanduser()
        source = f"{path} (mode {stat.S_IMODE(path.stat().st_mode):04o})"
    retired = [kid for kid in keyring.key_ids if kid != keyring.current_id]
    data = {
        "encryption": "on",
        "source": source,
        "current_key_id": keyring.current_id,
        "retired_key_ids": retired,
        "database": system.database.url,
    }
    emit(
        as_json,
        data,
        f"keys from {source}; current key id {keyring.current_id}"
        + (f"; retired {', '.join(retired)}" if retired else "")
        + f"; they open {system.database.url}",
    )


@keys_group.command(name="rotate", help="Make a new current key; the old one keeps reading.")
@click.pass_obj
def rotate(ctx: CliContext) -> None:
    settings = ctx.settings
    if settings.master_key is not None:
        fail(
            "MSAFIRI_MASTER_KEY is set: rotate in your secret store - put a new key "
            "(e.g. `openssl rand -base64 32`) first and keep the old ones after it"
        )
    if settings.encryption == "off":
        fail("MSAFIRI_ENCRYPTION is off: there is no key to rotate")
    ctx.system  # noqa: B018 - the current keys must open the database before we rotate them
    old, new = rotate_key_file(settings.key_file.expanduser())
    click.echo(
        f"new events use key id {new}; key id {old} is retired and still reads older events. "
        f"Back up {settings.key_file} now, and restart running Msafiri processes "
        f"so they write with the new key."
    )
