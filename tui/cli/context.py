"""What every CLI command shares: settings, the built system, the acting officer."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from domain.model import Actor
from domain.values import Role
from tui.bootstrap import System, build_system
from tui.settings import Settings


class CliContext:
    def __init__(self, settings: Settings, officer: str | None, role: str | None):
        self.settings = settings
        self.officer = officer or settings.officer
        self.role = role or settings.role
        self._system: System | None = None

    @property
    def system(self) -> System:
        if self._system is None:
            self._system = build_system(self.settings)
        return self._system

    def actor(self) -> Actor:
        """Sign in as --officer in --role (password from the settings or a prompt)."""
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
        officer = self.system.officers.sign_in(self.officer, password)
        return Actor(officer_id=officer.id, role=role)

    def after_write(self) -> None:
        """Leave the system current before the command exits: the fund process
        reacts to what was just written, the read models and the audit chain
        catch up (on PostgreSQL workers do it too; doing it here as well is
        harmless, each is exactly-once)."""
        self.system.keep_current()

    def close(self) -> None:
        if self._system is not None:
            self._system.close()


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str, sort_keys=True))
    else:
        click.echo(text)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
