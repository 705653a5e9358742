"""Turn command-line `field=value` pairs into a validated pydantic command.

Field names are exactly the command model's (dotted for nested values, e.g.
`monthly_wage.amount_minor=150000 monthly_wage.currency=SAR`), so an error
names the very field the user typed.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import click

from domain.commands import Command


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


def read_input(command_class: type[Command], pairs: tuple[str, ...], input_file: Path | None):
    data: dict[str, Any] = {}
    if input_file is not None:
        try:
            data = json.loads(input_file.read_text())
        except (OSError, ValueError) as error:
            raise click.BadParameter(f"cannot read JSON: {error}", param_hint="--input") from None
    data.update(parse_assignments(command_class, pairs))
    return command_class.parse(data)


def describe_fields(command_class: type[Command]) -> str:
    lines = []
    for name, field in command_class.model_fields.items():
        if name == "expected_version":
            continue
        marker = "required" if field.is_required() else "optional"
        lines.append(f"  {name} ({marker})")
    return "\b\nFields:\n" + "\n".join(lines)
