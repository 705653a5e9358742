"""What every CLI command shares: settings, the built system, the acting officer."""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime, tzinfo
from typing import Any
from uuid import UUID

import click

from domain.errors import InvalidCommand
from domain.model import Actor
from domain.values import Role
from domain.viewer import NOBODY, Viewer
from msafiri.bootstrap import System, build_system
from msafiri.settings import Settings, officer_connection
from msafiri.zones import OfficerZone, officer_zone, shown
from projections.references import KINDS, ReferenceNotFound, resolve


class CliContext:
    def __init__(self, settings: Settings, officer: str | None, role: str | None):
        self.settings = settings
        self.officer = officer or settings.officer
        self.role = role or settings.role
        self._system: System | None = None
        self._viewer: Viewer | None = None
        self._signed_in: tuple[str, Actor] | None = None  # signed in once per command
        # Only `db upgrade`, `demo` and `officer init` may create a new
        # SQLite database; the others refuse a missing file (a mistyped
        # path must not quietly become an empty database).
        self.may_create = False
        self._zone_named = False  # "times in ZONE" is said once per command

    @property
    def system(self) -> System:
        if self._system is None:
            self._system = build_system(self.settings, create=self.may_create)
        return self._system

    @functools.cached_property
    def officer_zone(self) -> OfficerZone:
        # Found once per command: a list of thousands of rows asks per row.
        return officer_zone(self.settings)

    @property
    def zone(self) -> tzinfo:
        """The zone a date-time typed without one is in (MSAFIRI_TIMEZONE, else
        the machine's): msafiri/zones.py, the terminal UI's rule too."""
        return self.officer_zone.tz

    @property
    def zone_name(self) -> str:
        """The zone's name as people read it ("Asia/Riyadh", "UTC")."""
        return self.officer_zone.name

    def when(self, moment: str | datetime | None, to: str = "minute") -> str:
        """A stored instant as the officer reads it: in their zone, to "date",
        "minute" or "second" (a calendar date stays as it is)."""
        return shown(moment, self.zone, to=to)

    def name_zone(self) -> None:
        """Say which zone the times below are in, once per command, before the
        first line for people that shows one (the TUI names it on each
        screen). --json output is UTC as stored and never calls this."""
        if not self._zone_named:
            self._zone_named = True
            click.echo(f"times in {self.zone_name}")

    def emit_times(self, as_json: bool, data: dict[str, Any], text: str) -> None:
        """`emit` for a line that shows stored times: the zone named first."""
        if not as_json:
            self.name_zone()
        emit(as_json, data, text)

    def reference(self, field: str, text: str) -> str:
        """The id that a case number or an id prefix names, or a refusal
        naming `field`."""
        try:
            return resolve(self.system.read_models.queries.db, KINDS[field], text)
        except ReferenceNotFound as error:
            raise InvalidCommand([(field, str(error))]) from None

    def record_reference(self, text: str) -> str:
        """Any record's id from what an officer types: a whole id (a case, an
        incident, a disbursement, the fund, an officer), a case number, or the
        first characters of an incident's or a disbursement's id."""
        db = self.system.read_models.queries.db
        try:
            return str(UUID(text.strip()))
        except ValueError:
            pass
        if text.strip().upper().startswith("MS"):
            return self.reference("migrant_id", text)
        found, reasons = [], []
        for field in ("incident_id", "disbursement_id"):
            try:
                found.append(resolve(db, KINDS[field], text))
            except ReferenceNotFound as error:
                reasons.append(str(error))
        if len(found) == 1:
            return found[0]
        if found:
            message = f"both an incident and a disbursement id start with {text.strip()}"
            raise InvalidCommand([("record", message + "; type more of it")])
        if len(set(reasons)) > 1:
            reasons = [f"no incident or disbursement id starts with {text.strip().lower()}"]
        raise InvalidCommand([("record", f"{reasons[0]} (or give a case number, MS-…)")])

    def officer_names(self) -> dict[str, str]:
        """Officer id -> username, to show people by name."""
        return {o.officer_id: o.username for o in self.system.read_models.queries.officers()}

    @property
    def connection(self) -> str:
        """How the officer reaches this command: "ssh" under OpenSSH, else
        "terminal" (msafiri/settings.py), for the access log."""
        return officer_connection(self.settings)[0]

    @property
    def database(self):
        """The database in use, once the system is built (for error messages)."""
        return self._system.database if self._system is not None else None

    def actor(self) -> Actor:
        """Sign in as --officer in --role (password from the settings or a prompt),
        once per command."""
        if self._signed_in is not None:
            return self._signed_in[1]
        if not self.officer or not self.role:
            raise click.UsageError(
                "this command acts as an officer: give --officer USERNAME and --role ROLE "
                "(or MSAFIRI_OFFICER and MSAFIRI_ROLE)"
            )
        try:
            role = Role(self.role)
        except ValueError:
            roles = ", ".join(r.value for r in Role if r is not Role.SYSTEM)
            raise click.BadParameter(f"must be one of {roles}", param_hint="--role") from None
        password = self.settings.officer_password or click.prompt(
            f"Password for {self.officer}", hide_input=True, err=True
        )
        # Counted, locked out after repeated failures, and logged; refused
        # while an administrator's reset waits to be changed.
        officer = self.system.officers.sign_in(
            self.officer, password, role=role, interface="cli", connection=self.connection
        )
        self._signed_in = (officer.username, Actor(officer_id=officer.id, role=role))
        return self._signed_in[1]

    def signed_in(self) -> tuple[str, Actor]:
        """The signed-in officer's username and actor (signing in if not yet)."""
        self.actor()
        assert self._signed_in is not None
        return self._signed_in

    def log_read(self, action: str, **about: Any) -> None:
        """Note a read in the access log (docs/privacy.md): by the signed-in
        officer (signing in if not yet: a read of a person's record names
        who read it), buffered and written when the command ends."""
        username, actor = self.signed_in()
        self.system.access_log.record_read(
            username, actor, action, interface="cli", connection=self.connection, **about
        )

    def log_export(self, what: str, reason: str | None = None, **about: Any) -> None:
        """Note an export (what was written where, and the reason given) in the
        access log, by the signed-in officer: every export names who made it."""
        from domain.officers.access import EXPORT

        self.log_read(EXPORT, detail=what, reason=(reason or "").strip() or None, **about)

    def viewer(self) -> Viewer:
        """Who reads, for need-to-know (projections/disclosure.py): the signed-in
        officer when --officer and --role are given, else NOBODY (who sees
        every restricted incident's free text masked)."""
        if not self.officer and not self.role:
            return NOBODY
        if self._viewer is None:
            self._viewer = Viewer.of(self.actor())
        return self._viewer

    def after_write(self) -> None:
        """Leave the system current before the command exits: the fund process
        reacts to what was just written, the read models and the audit chain
        catch up (on PostgreSQL workers do it too; doing it here as well is
        harmless, each is exactly-once).

        The command has succeeded once its events are stored: a failure here
        is one warning line, the exit status stays 0, and the catch-up is
        done again by the next command or by the workers (every follower
        keeps its own position)."""
        try:
            self.system.keep_current()
        except Exception as error:  # any failure after the commit is a warning
            warn_catch_up_failed(error, self.database)

    def close(self) -> None:
        if self._system is not None:
            self._system.close()


def warn_catch_up_failed(error: BaseException, database=None) -> None:
    from msafiri.bootstrap import database_problem

    reason = database_problem(database, error) or f"{type(error).__name__}: {error}"
    reason = " ".join(reason.split())  # one line, whatever the error's text holds
    click.echo(
        f"warning: stored; bringing the read models, fund process and audit chain up to date "
        f"failed ({reason}); the next command or `msafiri projections run` will do it",
        err=True,
    )


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str, sort_keys=True))
    else:
        click.echo(text)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
