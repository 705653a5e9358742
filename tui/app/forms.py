"""One generic form for every command: fields come from the pydantic model.

The form validates with the command's own `parse` (the very rules the
services apply), shows each rule beside its field, and only posts
`Submitted` with a valid command. Nothing reaches a service on error.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime
from pydantic_extra_types.country import CountryAlpha2
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from domain.commands import Command, no_later_than_today
from domain.errors import InvalidCommand
from domain.values import KENYA_COUNTIES, Money, utcnow
from tui.app.widgets import text_area, text_input

Kind = Literal[
    "text", "longtext", "enum", "pick", "bool", "money",
    "date", "datetime", "list", "country", "uuid",
]  # fmt: skip
# Text fields allowed more than this many characters get a multi-line editor.
SHORT_TEXT_MAX = 200


@dataclass
class FieldSpec:
    name: str
    kind: Kind
    required: bool
    choices: list[str] = field(default_factory=list)
    default: str = ""
    description: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # "pick": (label, value)

    @property
    def label(self) -> str:
        text = self.name.replace("_", " ").capitalize()
        hints = {
            "date": " (YYYY-MM-DD)",
            "datetime": " (YYYY-MM-DD HH:MM, UTC)",
            "list": " (comma separated)",
            "country": " (two letters, e.g. SA)",
        }
        return text + hints.get(self.kind, "") + ("" if self.required else " - optional")


def _unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(base type, optional?, metadata) of a field's annotation."""
    optional = False
    metadata: list[Any] = []
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        args = [a for a in typing.get_args(annotation) if a is not NoneType]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *metadata = typing.get_args(annotation)
    return annotation, optional, metadata


def _kind(name: str, base: Any) -> Kind:
    if base is AwareDatetime:  # pydantic's marker type, not a datetime subclass
        return "datetime"
    if isinstance(base, type):
        if issubclass(base, Enum):
            return "enum"
        if base is bool:
            return "bool"
        if issubclass(base, Money):
            return "money"
        if issubclass(base, datetime):
            return "datetime"
        if issubclass(base, date):
            return "date"
        if issubclass(base, UUID):
            return "uuid"
        if issubclass(base, CountryAlpha2):
            return "country"
    if typing.get_origin(base) in (tuple, list):
        return "list"
    if name == "county":
        return "enum"
    return "text"


def _is_long_text(metadata: list[Any], info: Any) -> bool:
    limits = [getattr(m, "max_length", None) for m in (*metadata, *info.metadata)]
    return any(limit is not None and limit > SHORT_TEXT_MAX for limit in limits)


def _is_past_date(metadata: list[Any], info: Any) -> bool:
    validators = [*metadata, *info.metadata]
    return any(getattr(v, "func", None) is no_later_than_today for v in validators)


def field_specs(command: type[Command], hidden: set[str]) -> list[FieldSpec]:
    specs = []
    for name, info in command.model_fields.items():
        if name in hidden or name == "expected_version":
            continue
        base, optional, metadata = _unwrap(info.annotation)
        kind = _kind(name, base)
        if kind == "text" and base is str and _is_long_text(metadata, info):
            kind = "longtext"
        # Ids the command generates itself (a new incident, a new request).
        if kind == "uuid" and info.default_factory is not None:
            continue
        spec = FieldSpec(name, kind, info.is_required() and not optional)
        spec.description = info.description or ""
        if kind == "list":
            item = typing.get_args(base)[0] if typing.get_args(base) else str
            if isinstance(item, type) and issubclass(item, Enum):
                words = ", ".join(m.value for m in item if m.value != "system")
                spec.description = spec.description or f"one or more of: {words}"
        if kind == "enum":
            spec.choices = list(KENYA_COUNTIES) if name == "county" else [m.value for m in base]
        default = info.get_default(call_default_factory=True) if not info.is_required() else None
        if isinstance(default, Enum):
            spec.default = default.value
        elif isinstance(default, datetime):
            spec.default = default.strftime("%Y-%m-%d %H:%M")
        elif isinstance(default, date | str):
            spec.default = str(default)
        elif isinstance(default, bool):
            spec.default = "yes" if default else ""
        elif kind == "date" and _is_past_date(metadata, info):
            # Most records are made the day they happen.
            spec.default = utcnow().date().isoformat()
        specs.append(spec)
    return specs


def _parse_datetime(text: str) -> Any:
    try:
        value = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return text  # let the model name the rule
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class CommandForm(Vertical):
    """Fields of one command; `fixed` values (the case, the incident) are
    set by the screen and not shown."""

    DEFAULT_CSS = """
    CommandForm { height: auto; }
    CommandForm .field { height: auto; margin-bottom: 1; }
    CommandForm .money Select, CommandForm .money Input { width: 1fr; }
    CommandForm TextArea { height: auto; min-height: 6; max-height: 12; }
    """

    class Submitted(Message):
        def __init__(self, form: CommandForm, command: Command):
            super().__init__()
            self.form = form
            self.command = command

    def __init__(
        self,
        command: type[Command],
        fixed: dict[str, Any] | None = None,
        initial: dict[str, Any] | None = None,
        choices: dict[str, list[Any]] | None = None,
        **kwargs: Any,
    ):
        """`choices`: for an id field, the records it may name (open_items.Choice),
        offered as a list to pick from instead of an id to type."""
        super().__init__(**kwargs)
        self.command = command
        self.fixed = dict(fixed or {})
        self.specs = field_specs(command, set(self.fixed))
        for spec in self.specs:
            if initial and spec.name in initial and initial[spec.name] is not None:
                spec.default = str(initial[spec.name])
            if choices and spec.name in choices:
                spec.kind = "pick"
                spec.options = [(c.label, str(c.value)) for c in choices[spec.name]]
                if len(spec.options) == 1:  # the only one: chosen already
                    spec.default = spec.options[0][1]

    def compose(self) -> ComposeResult:
        yield Static("", id="form-error", classes="field-error")
        for spec in self.specs:
            with Vertical(classes="field", id=f"field-{spec.name}"):
                yield Label(spec.label, classes="field-label")
                yield from self._editor(spec)
                if spec.description:
                    yield Static(spec.description, classes="field-help")
                yield Static("", id=f"e-{spec.name}", classes="field-error")
        with Horizontal(classes="form-buttons"):
            yield Button("Save", id="save", variant="primary")

    def _editor(self, spec: FieldSpec) -> ComposeResult:
        fid = f"f-{spec.name}"
        if spec.kind == "enum":
            yield Select(
                [(c.replace("_", " "), c) for c in spec.choices],
                value=spec.default or Select.NULL,
                allow_blank=True,
                prompt="choose...",
                id=fid,
            )
        elif spec.kind == "pick":
            yield Select(
                spec.options,
                value=spec.default or Select.NULL,
                allow_blank=True,
                prompt="choose...",
                id=fid,
            )
        elif spec.kind == "longtext":
            yield text_area(spec.default, id=fid)
        elif spec.kind == "bool":
            yield Checkbox(spec.name.replace("_", " "), value=bool(spec.default), id=fid)
        elif spec.kind == "money":
            with Horizontal(classes="money"):
                yield text_input(
                    placeholder="amount in minor units (cents)", id=f"{fid}-amount", type="integer"
                )
                yield text_input(placeholder="currency, e.g. KES", id=f"{fid}-currency")
        else:
            yield text_input(
                value=spec.default,
                id=fid,
                placeholder=spec.label,
                password=spec.name == "password",
            )

    # -- values and validation -------------------------------------------------

    def values(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.fixed)
        for spec in self.specs:
            fid = f"#f-{spec.name}"
            if spec.kind in ("enum", "pick"):
                value = self.query_one(fid, Select).value
                if value not in (Select.NULL, None):
                    data[spec.name] = value
            elif spec.kind == "bool":
                data[spec.name] = self.query_one(fid, Checkbox).value
            elif spec.kind == "money":
                amount = self.query_one(f"{fid}-amount").value.strip()
                currency = self.query_one(f"{fid}-currency").value.strip().upper()
                if amount or currency:
                    data[spec.name] = {"amount_minor": amount, "currency": currency}
            elif spec.kind == "longtext":
                text = self.query_one(fid, TextArea).text.strip()
                if text:
                    data[spec.name] = text
            else:
                text = self.query_one(fid).value.strip()
                if not text:
                    continue
                if spec.kind == "list":
                    data[spec.name] = [item.strip() for item in text.split(",") if item.strip()]
                elif spec.kind == "datetime":
                    data[spec.name] = _parse_datetime(text)
                elif spec.kind == "country":
                    data[spec.name] = text.upper()
                else:
                    data[spec.name] = text
        return data

    def validate_command(self) -> Command | None:
        self.clear_errors()
        try:
            return self.command.parse(self.values())
        except InvalidCommand as error:
            self.show_errors(error.errors)
            return None

    def clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            widget.update("")
            widget.remove_class("shown")

    def show_errors(self, errors: list[tuple[str, str]]) -> None:
        """Each rule beside its field; the rest above the form."""
        names = {spec.name for spec in self.specs}
        general: list[str] = []
        shown: dict[str, list[str]] = {}
        for where, rule in errors:
            name = where.split(".")[0]
            if name not in names:
                head, _, rest = rule.partition(":")
                first_word = rule.split(" ")[0]
                if head in names and rest:
                    name, rule = head, rest.strip()
                elif first_word in names:
                    name = first_word
                else:
                    general.append(rule if name in ("(form)", "") else f"{where}: {rule}")
                    continue
            shown.setdefault(name, []).append(rule)
        for name, rules in shown.items():
            target = self.query_one(f"#e-{name}", Static)
            target.update("✗ " + "; ".join(rules))
            target.add_class("shown")
        if general:
            target = self.query_one("#form-error", Static)
            target.update("✗ " + "\n✗ ".join(general))
            target.add_class("shown")
        first = next(iter(shown), None)
        if first:
            self.screen.set_focus(self._focus_target(first))

    def _focus_target(self, name: str) -> Any:
        spec = next(s for s in self.specs if s.name == name)
        suffix = "-amount" if spec.kind == "money" else ""
        return self.query_one(f"#f-{name}{suffix}")

    def submit(self) -> None:
        command = self.validate_command()
        if command is not None:
            self.post_message(self.Submitted(self, command))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            event.stop()
            self.submit()
