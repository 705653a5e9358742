"""What an officer types on the command line, made into a command's own fields.

`field=value` pairs are the command model's names; before validation three
things a person expects are done here, so every command gets them alike:

- references: a case number (`MS-OLX42-NIJBR`) wherever a migrant id is asked,
  the first characters of an incident's or a disbursement's id where those are;
- money in major units with the currency's decimals: `amount=1200.50
  amount.currency=KES`, `amount="1,200.50 KES"` or `--amount 1200.50 --currency
  KES` (minor units, `amount.amount_minor=120050`, are still taken from scripts);
- a date-time without a zone means the officer's zone (MSAFIRI_TIMEZONE,
  default the machine's: msafiri/zones.py, the terminal UI's rule too).
"""

from __future__ import annotations

import types
import typing
from datetime import datetime, tzinfo
from typing import Any
from uuid import UUID

from domain.amounts import parse_major
from domain.commands import Command
from domain.errors import InvalidCommand
from domain.values import Money
from msafiri.zones import typed_moment
from projections.db import ReadModelDb
from projections.references import KINDS, ReferenceNotFound, resolve


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation may hold: Annotated and Optional unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(m for arg in typing.get_args(annotation) for m in _members(arg))
    return (annotation,)


def money_fields(command_class: type[Command]) -> list[str]:
    return [
        name
        for name, field in command_class.model_fields.items()
        if any(_is(m, Money) for m in _members(field.annotation))
    ]


def _holds(command_class: type[Command], name: str, kind: type) -> bool:
    field = command_class.model_fields.get(name)
    return field is not None and any(_is(m, kind) for m in _members(field.annotation))


def _is(member: Any, kind: type) -> bool:
    # pydantic's AwareDatetime is a marker class of its own, not a datetime subclass.
    if kind is datetime and getattr(member, "__name__", "") == "AwareDatetime":
        return True
    return isinstance(member, type) and issubclass(member, kind)


def prepare(
    command_class: type[Command],
    data: dict[str, Any],
    db: ReadModelDb | None,
    zone: tzinfo,
) -> dict[str, Any]:
    """`data` with references resolved, money in minor units and zones added;
    every problem found at once, each naming its field."""
    problems: list[tuple[str, str]] = []
    for name, value in list(data.items()):
        if name in KINDS and isinstance(value, str) and _holds(command_class, name, UUID):
            if db is None:
                continue
            try:
                data[name] = resolve(db, KINDS[name], value)
            except ReferenceNotFound as error:
                problems.append((name, str(error)))
        elif isinstance(value, str) and _holds(command_class, name, datetime):
            data[name] = _in_zone(value, zone)
    for name in money_fields(command_class):
        if name in data:
            try:
                data[name] = _money(data[name])
            except ValueError as error:
                problems.append((name, str(error)))
    if problems:
        raise InvalidCommand(problems)
    return data


def _in_zone(text: str, zone: tzinfo) -> str:
    moment = typed_moment(text, zone)
    return text if moment is None else moment.isoformat()  # else the model names the problem


def _money(value: Any) -> Any:
    if isinstance(value, str):
        amount, _, currency = value.strip().rpartition(" ")
        if not amount:
            raise ValueError("give the currency too, e.g. 1200.50 KES (or NAME.currency=KES)")
        value = {"amount": amount, "currency": currency}
    if not isinstance(value, dict) or "amount" not in value:
        return value  # {"amount_minor": ..., "currency": ...} from a script
    currency = str(value.get("currency", "")).strip().upper()
    if not currency:
        raise ValueError("give the currency too, e.g. 1200.50 KES (or NAME.currency=KES)")
    rest = {k: v for k, v in value.items() if k not in ("amount", "currency")}
    if rest:
        raise ValueError(f"unexpected part {next(iter(rest))!r}: give amount and currency")
    return {"amount_minor": parse_major(str(value["amount"]), currency), "currency": currency}
