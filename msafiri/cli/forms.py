"""Turn command-line `field=value` pairs into a validated pydantic command.

Field names are exactly the command model's (dotted for nested values, e.g.
`monthly_wage.currency=SAR`), so an error names the very field the user typed.
Money is typed in major units (`monthly_wage="1,500.00 SAR"`); see inputs.py.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from domain.commands import Command
from domain.values import Role
from msafiri.cli.context import CliContext, emit
from msafiri.cli.examples import example
from msafiri.cli.inputs import money_fields, prepare


def _is_sequence(annotation: Any) -> bool:
    origins = {typing.get_origin(a) for a in (annotation, *typing.get_args(annotation))}
    return bool(origins & {tuple, list})


def parse_assignments(command_class: type[Command], pairs: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not field=value", param_hint="FIELDS")
        target = data
        *parents, leaf = key.strip().split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        field = command_class.model_fields.get(key.split(".")[0])
        if field is not None and not parents and _is_sequence(field.annotation):
            target[leaf] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            target[leaf] = value
    return data


def read_input(
    ctx: CliContext,
    command_class: type[Command],
    pairs: tuple[str, ...],
    input_file: Path | None,
    extra: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> Command:
    """The validated command from `defaults`, a JSON file, `field=value` pairs
    and `extra` (later ones win), with references, money and zones made the
    model's own."""
    data: dict[str, Any] = dict(defaults or {})
    if input_file is not None:
        try:
            loaded = json.loads(input_file.read_text())
        except (OSError, ValueError) as error:
            raise click.BadParameter(f"cannot read JSON: {error}", param_hint="--input") from None
        if not isinstance(loaded, dict):
            raise click.BadParameter("must hold one JSON object of fields", param_hint="--input")
        data.update(loaded)
    data.update(parse_assignments(command_class, pairs))
    data.update(extra or {})
    db = ctx.system.read_models.queries.db
    return command_class.parse(prepare(command_class, data, db, ctx.zone))


def money_options(command_class: type[Command]):
    """`--amount 1200.50 --currency KES` for a command with one money field."""
    names = money_fields(command_class)

    def decorate(function):
        if len(names) != 1:
            return function
        function = click.option("--currency", help=f"Currency of {names[0]} (ISO 4217), e.g. KES")(
            function
        )
        return click.option(
            "--amount", help=f"{names[0]} in major units, e.g. 1200.50 or 1,200.50"
        )(function)

    return decorate


def money_from_options(
    command_class: type[Command], amount: str | None, currency: str | None
) -> dict[str, Any]:
    names = money_fields(command_class)
    if len(names) != 1 or (amount is None and currency is None):
        return {}
    return {names[0]: {"amount": amount or "", "currency": currency or ""}}


def describe_fields(command_class: type[Command]) -> str:
    lines = []
    for name, field in command_class.model_fields.items():
        if name == "expected_version":
            continue
        marker = "required" if field.is_required() else "optional"
        lines.append(f"  {name} ({marker})")
    return "\b\nFields:\n" + "\n".join(lines)


def command_for(
    command_class: type[Command],
    name: str,
    run: Callable[[CliContext, Command], dict],
    path: str = "",
    roles: tuple[Role, ...] = (),
    defaults: Callable[[], dict[str, Any]] | None = None,
) -> click.Command:
    """A click command for a pydantic command: its fields as `field=value`
    arguments, --input, --json, money options, an example in its help.
    `run` does the work; `defaults` gives fields filled in when not typed
    (e.g. a fresh command_id)."""
    summary = (command_class.__doc__ or name).strip()
    epilog = f"\b\nExample:\n  {example(command_class, f'{path} {name}'.strip(), roles)}"

    @click.command(
        name=name,
        help=f"{summary}\n\n{describe_fields(command_class)}",
        short_help=summary.split("\n")[0][:80],
        epilog=epilog,
    )
    @click.argument("fields", nargs=-1)
    @click.option(
        "--input", "input_file", type=click.Path(path_type=Path), help="JSON file of fields"
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
    @money_options(command_class)
    @click.pass_obj
    def handler(
        ctx: CliContext, fields: tuple[str, ...], input_file: Path | None, as_json: bool, **money
    ):
        extra = money_from_options(command_class, money.get("amount"), money.get("currency"))
        given = defaults() if defaults else None
        command = read_input(ctx, command_class, fields, input_file, extra, given)
        result = run(ctx, command)
        ctx.after_write()
        emit(as_json, result, " ".join(f"{k}={v}" for k, v in result.items()))

    return handler
