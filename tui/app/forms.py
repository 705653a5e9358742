"""One generic form for every command: fields come from the pydantic model.

The form validates with the command's own `parse` (the very rules the
services apply), shows every rule that fails at once, beside its field and in
the label's own words, and only posts `Submitted` with a valid command.
Nothing reaches a service on error. Money is typed in major units with the
currency's own decimals ("1,200.50" KES) and echoed, parsed, beside the field.
A date-time typed without a zone is in the officer's zone, as in the CLI
(msafiri/zones.py), and its label names that zone.
"""

from __future__ import annotations

import re
import typing
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import Enum
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, TypeAdapter, ValidationError
from pydantic_extra_types.country import CountryAlpha2
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from domain.amounts import format_major, minor_to_major_text, parse_major
from domain.commands import Command, no_later_than_today
from domain.errors import InvalidCommand
from domain.values import KENYA_COUNTIES, Money, utcnow
from msafiri.zones import UTC_ZONE, OfficerZone, typed_moment
from tui.app.widgets import text_area, text_input

Kind = Literal[
    "text", "longtext", "enum", "pick", "bool", "money", "minor",
    "date", "datetime", "list", "country", "uuid",
]  # fmt: skip
# Text fields allowed more than this many characters get a multi-line editor.
SHORT_TEXT_MAX = 200

# Optional fields that a cross-field rule of the command may require: the
# label says when, instead of "optional" (command class name, field) -> when.
CONDITIONS: dict[tuple[str, str], str] = {
    ("RegisterMigrant", "national_id"): "give a passport number or a national id",
    ("RegisterMigrant", "passport_number"): "give a passport number or a national id",
    ("ApproveDisbursement", "reason"): "needed for a humanitarian exception (10+ characters)",
    ("ReportIncident", "gbv_subtype"): "needed for sexual harassment or violence, and only then",
    ("RequestAssistance", "estimate"): "needed for legal aid, medical care and repatriation",
    ("RequestAssistance", "payee"): "needed for legal aid, medical care and repatriation",
    # The registered employer is chosen before the form opens (issue 16).
    ("RegisterContract", "employer_name"): "needed when no registered employer was chosen",
    ("ChangeEmployer", "employer_name"): "needed when no registered employer was chosen",
    **{
        (step, "justification"): "needed for a watchlisted employer or agency, "
        "or an agency licence not valid"
        for step in ("RegisterContract", "ChangeEmployer", "RenewContract")
    },
}


@dataclass
class FieldSpec:
    name: str
    kind: Kind
    required: bool
    choices: list[str] = field(default_factory=list)
    default: str = ""
    description: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # "pick": (label, value)
    condition: str = ""  # when a cross-field rule requires this optional field
    currency: str = ""  # "money": the default currency; "minor": the only one
    zone: str = "UTC"  # "datetime": the zone one typed without a zone is in

    @property
    def words(self) -> str:
        """The field as people say it: 'national id', 'amount' (never 'amount_minor'),
        'officer' for a record chosen from a list (never 'officer id')."""
        name = self.name.removesuffix("_id") if self.kind == "pick" else self.name
        return name.removesuffix("_minor").replace("_", " ")

    @property
    def label(self) -> str:
        hints = {
            "date": " (YYYY-MM-DD)",
            "datetime": f" (YYYY-MM-DD HH:MM, {self.zone} time)",
            "list": " (comma separated)",
            "country": " (two letters, e.g. SA)",
            "money": " (amount and currency)",
            "minor": f" (in {self.currency}, e.g. 1,200.50)" if self.currency else "",
        }
        if self.required:
            need = ""
        elif self.condition:
            need = f" - {self.condition}"
        else:
            need = " - optional"
        return self.words.capitalize() + hints.get(self.kind, "") + need


# What an id field takes when references are resolved (placeholders).
REFERENCE_HINTS = {
    "officer_id": "username, e.g. demo.fund",
    "migrant_id": "case number, e.g. MS-OLX42-NIJBR",
    "incident_id": "incident id or its first 8 characters",
    "disbursement_id": "request id or its first 8 characters",
    "grant_id": "access id or its first 8 characters",
}


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
    if base is int and name.endswith("amount_minor"):
        return "minor"  # an amount in the currency of the record acted on
    return "text"


def _is_long_text(metadata: list[Any], info: Any) -> bool:
    limits = [getattr(m, "max_length", None) for m in (*metadata, *info.metadata)]
    return any(limit is not None and limit > SHORT_TEXT_MAX for limit in limits)


def _is_past_date(metadata: list[Any], info: Any) -> bool:
    validators = [*metadata, *info.metadata]
    return any(getattr(v, "func", None) is no_later_than_today for v in validators)


def field_specs(
    command: type[Command], hidden: set[str], zone: OfficerZone = UTC_ZONE
) -> list[FieldSpec]:
    """The form's fields; a date-time is typed, and its default shown, in `zone`."""
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
        spec = FieldSpec(name, kind, info.is_required() and not optional, zone=zone.name)
        spec.condition = CONDITIONS.get((command.__name__, name), "")
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
            spec.default = shown_moment(default, zone.tz)
        elif isinstance(default, date | str):
            spec.default = str(default)
        elif isinstance(default, bool):
            spec.default = "yes" if default else ""
        elif kind == "date" and _is_past_date(metadata, info):
            # Most records are made the day they happen: today where the officer is.
            spec.default = utcnow().astimezone(zone.tz).date().isoformat()
        specs.append(spec)
    return specs


def shown_moment(moment: datetime, zone: tzinfo) -> str:
    """A date-time as the officer types it, to the minute: in their zone, the
    one it is read back in."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M")


def _parse_datetime(text: str, zone: tzinfo) -> Any:
    moment = typed_moment(text, zone)
    return text if moment is None else moment  # else the model names the rule


@cache
def _field_adapter(command: type[Command], name: str) -> TypeAdapter:
    info = command.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, info])


def cross_field_errors(
    command: type[Command], data: dict[str, Any], broken: set[str] | None = None
) -> list[tuple[str, str]]:
    """The command's cross-field rules, applied to the fields that are valid.

    Pydantic runs a model's `after` validators only once every field is
    valid, so a form would learn its cross-field rules one save at a time.
    Here each rule runs on its own over the valid fields; a rule that needs
    a field still missing or wrong is left for that field's own error."""
    values: dict[str, Any] = {}
    broken = set(broken or ())  # fields the form already found wrong
    for name, info in command.model_fields.items():
        if name in broken:
            continue
        if name not in data:
            if not info.is_required():
                values[name] = info.get_default(call_default_factory=True)
            continue
        try:
            values[name] = _field_adapter(command, name).validate_python(data[name])
        except ValidationError:
            broken.add(name)
    probe = command.model_construct(**values)
    for name in broken | (set(command.model_fields) - set(values)):
        probe.__dict__.pop(name, None)  # reading it raises AttributeError: rule skipped
    errors = []
    for decorator in command.__pydantic_decorators__.model_validators.values():
        if decorator.info.mode != "after":
            continue
        try:
            decorator.func(probe)
        except ValueError as error:
            errors.append(("(form)", str(error)))
        except Exception:  # the rule needs a field that is not valid yet
            continue
    return errors


class CommandForm(Vertical):
    """Fields of one command; `fixed` values (the case, the incident) are
    set by the screen and not shown."""

    # Every row is as tall as its content: a Horizontal's default height is
    # 1fr, which inside a scrolling page takes the rest of the screen and
    # pushes every later field (and the Save button) out of sight.
    DEFAULT_CSS = """
    CommandForm { height: auto; }
    CommandForm .field { height: auto; margin-bottom: 1; }
    CommandForm .field-label { width: 1fr; }
    CommandForm Horizontal { height: auto; }
    CommandForm .money Input { width: 1fr; }
    CommandForm .money .currency { width: 18; }
    CommandForm .money-echo { width: 1fr; height: auto; padding: 1 0 0 1; }
    CommandForm TextArea { height: auto; min-height: 6; max-height: 12; }
    CommandForm .form-buttons { height: auto; }
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
        currency: str = "",
        references: Callable[[str, str], str] | None = None,
        zone: OfficerZone = UTC_ZONE,
        **kwargs: Any,
    ):
        """`choices`: for an id field, the records it may name (open_items.Choice),
        offered as a list to pick from instead of an id to type. `currency`: the
        currency of the record acted on (an approval of part of a request is in
        the request's currency), and the one a new amount starts in.
        `references(field, text)`: the id an officer's words name in an id field
        (a username, a case number, an id's first characters, as the CLI takes
        them: projections/references.py); a LookupError's message is the field's
        error. `zone`: the officer's (msafiri/zones.py), that a date-time typed
        without one is in; its label names it."""
        super().__init__(**kwargs)
        self.command = command
        self.references = references
        self.zone = zone
        self.fixed = dict(fixed or {})
        self.specs = field_specs(command, set(self.fixed), zone)
        self._local_errors: list[tuple[str, str]] = []
        self._pristine: tuple[Any, ...] | None = None
        for spec in self.specs:
            spec.currency = currency
            value = (initial or {}).get(spec.name)
            if isinstance(value, Money):
                spec.default, spec.currency = minor_to_major_text(*_money(value)), value.currency
            elif spec.kind == "minor" and isinstance(value, int) and currency:
                spec.default = minor_to_major_text(value, currency)
            elif isinstance(value, datetime):
                spec.default = shown_moment(value, zone.tz)
            elif value is not None:
                spec.default = str(value)
            if choices and spec.name in choices:
                spec.kind = "pick"
                spec.options = [(c.label, str(c.value)) for c in choices[spec.name]]
                if len(spec.options) == 1:  # the only one: chosen already
                    spec.default = spec.options[0][1]

    def compose(self) -> ComposeResult:
        yield Static("", id="form-error", classes="field-error")
        for spec in self.specs:
            with Vertical(classes="field", id=f"field-{spec.name}"):
                yield Label(spec.label, id=f"l-{spec.name}", classes="field-label")
                yield from self._editor(spec)
                if spec.description:
                    yield Static(Text(spec.description), classes="field-help")
                yield Static("", id=f"e-{spec.name}", classes="field-error")
        with Horizontal(classes="form-buttons"):
            yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.call_after_refresh(self._remember_pristine)

    def _remember_pristine(self) -> None:
        self._pristine = self.raw()

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
                [(Text(label), value) for label, value in spec.options],  # labels are data
                value=spec.default or Select.NULL,
                allow_blank=True,
                prompt="choose...",
                id=fid,
            )
        elif spec.kind == "longtext":
            yield text_area(spec.default, id=fid)
        elif spec.kind == "bool":
            yield Checkbox(spec.words, value=bool(spec.default), id=fid)
        elif spec.kind == "money":
            with Horizontal(classes="money"):
                yield text_input(
                    value=spec.default, placeholder="amount, e.g. 1,200.50", id=f"{fid}-amount"
                )
                yield text_input(
                    value=spec.currency,
                    placeholder="e.g. KES",
                    id=f"{fid}-currency",
                    classes="currency",
                    max_length=3,
                )
                yield Static("", id=f"m-{spec.name}", classes="money-echo")
        elif spec.kind == "minor":
            with Horizontal(classes="money"):
                yield text_input(value=spec.default, placeholder="amount, e.g. 1,200.50", id=fid)
                yield Static("", id=f"m-{spec.name}", classes="money-echo")
        else:
            yield text_input(
                value=spec.default,
                id=fid,
                placeholder=REFERENCE_HINTS.get(spec.name, spec.words)
                if spec.kind == "uuid" and self.references is not None
                else spec.words,
                password=spec.name == "password",
            )

    def set_currency(self, currency: str) -> None:
        """The record acted on is in `currency`: amounts of it are typed in it."""
        for spec in self.specs:
            if spec.kind == "minor":
                spec.currency = currency
                if not self.query(f"#l-{spec.name}"):  # its label is still being mounted
                    self.call_after_refresh(self.set_currency, currency)
                    return
                self.query_one(f"#l-{spec.name}", Label).update(spec.label)
                self._echo(spec)

    # -- what the officer typed ------------------------------------------------

    def raw(self) -> tuple[Any, ...]:
        """Everything typed or chosen, as it stands (to tell a changed form)."""
        values: list[Any] = []
        for widget in self.query("Input, TextArea, Select, Checkbox"):
            if isinstance(widget, TextArea):
                values.append(widget.text)
            else:
                values.append(getattr(widget, "value", None))
        return tuple(values)

    @property
    def changed(self) -> bool:
        return self._pristine is not None and self.raw() != self._pristine

    def _money_text(self, spec: FieldSpec) -> tuple[str, str]:
        fid = f"#f-{spec.name}"
        if spec.kind == "minor":
            return self.query_one(fid, Input).value.strip(), spec.currency
        amount = self.query_one(f"{fid}-amount", Input).value.strip()
        return amount, self.query_one(f"{fid}-currency", Input).value.strip().upper()

    def _money(self, spec: FieldSpec) -> tuple[int | None, str, str]:
        """(minor units or None, currency, the rule that failed or '')."""
        amount, currency = self._money_text(spec)
        if not amount:
            return None, currency, ""
        if not currency:
            return None, currency, "give the currency, e.g. KES"
        try:
            return parse_major(amount, currency), currency, ""
        except ValueError as error:
            return None, currency, str(error)

    def values(self) -> dict[str, Any]:
        """The command's data from the fields; money parsed from major units
        (what cannot be parsed is kept in `_local_errors`, not sent)."""
        data: dict[str, Any] = dict(self.fixed)
        self._local_errors = []
        for spec in self.specs:
            fid = f"#f-{spec.name}"
            if spec.kind in ("enum", "pick"):
                value = self.query_one(fid, Select).value
                if value not in (Select.NULL, None):
                    data[spec.name] = value
            elif spec.kind == "bool":
                data[spec.name] = self.query_one(fid, Checkbox).value
            elif spec.kind in ("money", "minor"):
                minor, currency, problem = self._money(spec)
                if problem:
                    self._local_errors.append((spec.name, problem))
                elif minor is not None and spec.kind == "minor":
                    data[spec.name] = minor
                elif minor is not None:
                    data[spec.name] = {"amount_minor": minor, "currency": currency}
            elif spec.kind == "longtext":
                text = self.query_one(fid, TextArea).text.strip()
                if _control_characters(text, allowed="\n\t"):
                    self._local_errors.append((spec.name, _CONTROL_RULE))
                elif text:
                    data[spec.name] = text
            else:
                text = self.query_one(fid, Input).value.strip()
                if not text:
                    continue
                if _control_characters(text):
                    self._local_errors.append((spec.name, _CONTROL_RULE))
                    continue
                if spec.kind == "list":
                    data[spec.name] = [item.strip() for item in text.split(",") if item.strip()]
                elif spec.kind == "datetime":
                    data[spec.name] = _parse_datetime(text, self.zone.tz)
                elif spec.kind == "country":
                    data[spec.name] = text.upper()
                elif spec.kind == "uuid" and self.references is not None:
                    try:
                        data[spec.name] = self.references(spec.name, text)
                    except LookupError as error:
                        self._local_errors.append((spec.name, str(error)))
                else:
                    data[spec.name] = text
        return data

    # -- validation ----------------------------------------------------------------

    def problems(self) -> tuple[Command | None, list[tuple[str, str]]]:
        """The valid command, or every rule that fails (field, rule), all at once."""
        data = self.values()
        errors = list(self._local_errors)
        try:
            command = self.command.parse(data)
        except InvalidCommand as error:
            command = None
            mine = {name for name, _ in self._local_errors}
            errors += [
                (where, rule)
                for where, rule in error.errors
                if where.split(".")[0] not in mine and rule.partition(":")[0] not in mine
            ]
            for extra in cross_field_errors(self.command, data, broken=mine):
                if extra not in errors:
                    errors.append(extra)
        return (None, errors) if errors else (command, [])

    def validate_command(self) -> Command | None:
        self.clear_errors()
        command, errors = self.problems()
        if errors:
            self.show_errors(errors)
        return command

    def clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            widget.update("")
            widget.remove_class("shown")

    def in_words(self, rule: str) -> str:
        """A rule as the labels say it: 'national_id' -> 'national id'."""
        for spec in sorted(self.specs, key=lambda s: -len(s.name)):
            rule = re.sub(rf"\b{re.escape(spec.name)}\b", spec.words, rule)
        # Other code words (a choice such as medical_care) read as words too.
        return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", lambda m: m.group(0).replace("_", " "), rule)

    def placed(self, errors: list[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
        """Each rule beside the field(s) it is about; the rest for above the form."""
        names = [spec.name for spec in self.specs]
        general: list[str] = []
        shown: dict[str, list[str]] = {}
        for where, rule in errors:
            name = where.split(".")[0]
            targets = [name] if name in names else []
            if not targets:
                head, _, rest = rule.partition(":")
                if head.strip() in names and rest:
                    targets, rule = [head.strip()], rest.strip()
                else:  # a cross-field rule: beside every field it names
                    targets = [n for n in names if re.search(rf"\b{re.escape(n)}\b", rule)]
            if not targets:
                known = name in ("(form)", "") or name in self.fixed
                general.append(self.in_words(rule if known else f"{where}: {rule}"))
                continue
            for target in targets:
                rules = shown.setdefault(target, [])
                if self.in_words(rule) not in rules:
                    rules.append(self.in_words(rule))
        return shown, general

    def show_errors(self, errors: list[tuple[str, str]]) -> None:
        shown, general = self.placed(errors)
        for name, rules in shown.items():
            target = self.query_one(f"#e-{name}", Static)
            target.update(Text("✗ " + "; ".join(rules)))
            target.add_class("shown")
        if shown:
            words = ", ".join(self._spec(name).words for name in shown)
            general.append(f"not saved: check {words}")
        if general:
            target = self.query_one("#form-error", Static)
            target.update(Text("✗ " + "\n✗ ".join(general)))
            target.add_class("shown")
        first = next((s.name for s in self.specs if s.name in shown), None)
        if first:
            self.screen.set_focus(self._focus_target(first))

    def _spec(self, name: str) -> FieldSpec:
        return next(s for s in self.specs if s.name == name)

    def _focus_target(self, name: str) -> Any:
        suffix = "-amount" if self._spec(name).kind == "money" else ""
        return self.query_one(f"#f-{name}{suffix}")

    # -- as the officer types --------------------------------------------------------

    def _field_of(self, widget: Any) -> FieldSpec | None:
        for node in widget.ancestors_with_self:
            if node is self:
                return None
            if node.id and node.id.startswith("field-"):
                return self._spec(node.id.removeprefix("field-"))
        return None

    def _edited(self, widget: Any) -> None:
        """A field was changed: its error mark goes (the next save checks again),
        and a money field shows the amount it will save."""
        spec = self._field_of(widget)
        if spec is None:
            return
        error = self.query_one(f"#e-{spec.name}", Static)
        if error.has_class("shown"):
            error.update("")
            error.remove_class("shown")
        if spec.kind in ("money", "minor"):
            self._echo(spec)

    def _echo(self, spec: FieldSpec) -> None:
        minor, currency, problem = self._money(spec)
        echo = self.query_one(f"#m-{spec.name}", Static)
        if problem and self._money_text(spec)[0]:
            echo.update(Text(f"✗ {problem}"))
        elif minor is not None:
            echo.update(Text(f"= {format_major(minor, currency)}"))
        else:
            echo.update("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._edited(event.input)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._edited(event.select)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._edited(event.checkbox)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._edited(event.text_area)

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


# A pasted terminal escape (ESC [31m ...) would repaint every screen that
# shows the text: refused here as the command boundary refuses it.
_CONTROL_RULE = "contains a control character (such as ESC): type plain text"


def _control_characters(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def _money(value: Money) -> tuple[int, str]:
    return value.amount_minor, value.currency
