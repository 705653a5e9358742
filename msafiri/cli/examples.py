"""One worked example for every generated command's --help.

Built from the command model itself (its required fields and their types), so
a new command or field gets a correct example without anyone writing one.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any
from uuid import UUID

import click

from domain.commands import Command
from domain.values import Money, Role
from msafiri.cli.inputs import _is, _members

# What a person would type for fields whose type alone says too little.
BY_NAME = {
    "migrant_id": "MS-OLX42-NIJBR",
    "incident_id": "3f2a9c1e",
    "disbursement_id": "7b41d0aa",
    "full_name": '"Wanjiku Mwangi"',
    "national_id": "31234567",
    "passport_number": "AK1234567",
    "phone": "+254712345678",
    "county": "Kakamega",
    "destination_country": "SA",
    "country": "SA",
    "currency": "KES",
    "username": "j.otieno",
    "payee": '"Kenya Airways"',
    "employer_name": '"Al Noor Household"',
    "job_title": '"Domestic worker"',
    "justification": '"Stranded after the employer withheld her passport"',
    "reason": '"Entered against the wrong case"',
    "outcome": '"Wages recovered through the labour office"',
    "description": '"Unpaid for three months"',
    "notes": '"Seen at the shelter"',
    "note": '"Called the employer"',
    "organisation": '"Embassy shelter"',
}
# Filled in by the CLI itself when not given.
NOT_SHOWN = ("expected_version", "command_id")
# Optional fields that a rule across fields makes needed (a passport or a
# national id; a money assistance kind's estimate and payee).
ALSO_SHOWN = ("national_id", "estimate", "payee")


def _value(name: str, annotation: Any) -> str:
    if name in BY_NAME:
        return BY_NAME[name]
    for member in _members(annotation):
        if _is(member, Money):
            return '"1,200.50 KES"'
        if isinstance(member, type) and issubclass(member, enum.Enum):
            return str(next(iter(member)).value)
        if _is(member, datetime):
            return "2026-03-01T09:30"
        if _is(member, date):
            return "2026-03-01"
        if _is(member, UUID):
            return "3f2a9c1e"
        if _is(member, bool):
            return "true"
        if _is(member, int):
            return "1"
    words = name.replace("_", " ")
    return f'"{words}"' if " " in words else words


def example(command_class: type[Command], path: str, roles: tuple[Role, ...] = ()) -> str:
    """`msafiri --officer … --role … PATH field=value …` with the required fields."""
    parts = ["msafiri"]
    if roles:
        parts += ["--officer", "j.otieno", "--role", roles[0].value]
    parts.append(path)
    for name, field in command_class.model_fields.items():
        if (field.is_required() or name in ALSO_SHOWN) and name not in NOT_SHOWN:
            parts.append(f"{name}={_value(name, field.annotation)}")
    return " ".join(parts)


# The commands written by hand: one worked example each. A test walks the
# whole command tree, so a new command without an example here fails it.
BY_PATH = {
    "audit as-of": "msafiri audit as-of MS-OLX42-NIJBR --at 2026-06-30T17:00",
    "audit chain": "msafiri audit chain",
    "audit checkpoint": "msafiri audit checkpoint --output /srv/kept/checkpoints.jsonl",
    "audit checkpoints": "msafiri audit checkpoints",
    "audit corrections": "msafiri audit corrections --json",
    "audit export": "msafiri audit export --case MS-OLX42-NIJBR --output case-trail.jsonl",
    "audit keygen": "msafiri audit keygen --output audit.pem > audit.pub",
    "audit verify": "msafiri audit verify --public-key audit.pub",
    "audit who": "msafiri audit who --officer demo.fund2 --type DisbursementApproved",
    "db upgrade": "msafiri db upgrade",
    "demo": "msafiri demo --migrants 5000",
    "fund balances": "msafiri fund balances --json",
    "fund process": "msafiri fund process",
    "keys rotate": "msafiri keys rotate",
    "keys status": "msafiri keys status",
    "ledger export": "msafiri --officer demo.auditor --role auditor ledger export "
    '--format beancount --output fund.beancount --reason "Quarterly audit"',
    "nats publish": "msafiri nats publish --follow",
    "nats setup": "msafiri nats setup --max-age-days 30",
    "nats status": "msafiri nats status --json",
    "officer init": 'msafiri officer init --username admin --full-name "Amina Yusuf"',
    "projections rebuild": "msafiri projections rebuild cases",
    "projections run": "msafiri projections run",
    "projections status": "msafiri projections status --json",
}


def add_examples(command: click.Command, path: tuple[str, ...] = ()) -> None:
    """Give every hand-written command at or under `command` (at `path` in the
    command tree) its example from BY_PATH."""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            add_examples(sub, (*path, name))
    elif not command.epilog and " ".join(path) in BY_PATH:
        command.epilog = f"\b\nExample:\n  {BY_PATH[' '.join(path)]}"
