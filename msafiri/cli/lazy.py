"""A command group whose subcommands are imported when they are used.

Every subcommand module pulls in what it works with (audit signing keys,
backups, the NATS client, the web server ...): imported eagerly, `msafiri fund
balances` paid for all of them at every start. Each is named here by
"module:attribute" and imported the first time click asks for it; `--help`
still lists them all (it asks for each).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

import click


class LazyGroup(click.Group):
    def __init__(
        self,
        *args,
        lazy: Mapping[str, str] | None = None,
        prepare: Callable[[click.Command, str], None] | None = None,
        **kwargs,
    ):
        """`lazy`: command name -> "module:attribute" of the command.
        `prepare(command, name)`: run once on each command when it is loaded."""
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.prepare = prepare

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            self.add_command(self.load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, name: str) -> click.Command:
        module, _, attribute = self.lazy[name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[name]} is not a click command")
        if self.prepare is not None:
            self.prepare(command, name)
        return command

    def all_commands(self) -> dict[str, click.Command]:
        """Every subcommand, loaded (for whatever walks the whole tree)."""
        for name in self.lazy:
            if name not in self.commands:
                self.add_command(self.load(name), name)
        return dict(self.commands)
