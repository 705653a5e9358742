from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from domain.commands import Command, Reason, Text
from domain.values import Role

_USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,39}")


def _username(value: str) -> str:
    value = value.strip().lower()
    if not _USERNAME.fullmatch(value):
        raise ValueError("3 to 40 letters, digits, '.', '_' or '-', starting with a letter")
    return value


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]

OFFICER_ROLES = tuple(role for role in Role if role is not Role.SYSTEM)


class RegisterOfficer(Command):
    username: Username
    full_name: Text
    station: Text = Field(description="Where they work, e.g. 'Nairobi HQ' or 'Embassy Riyadh'")
    roles: tuple[Role, ...] = Field(min_length=1)
    password: Password | None = None


class CreateFirstAdministrator(Command):
    username: Username
    full_name: Text
    station: Text = "Headquarters"
    password: Password


class GrantRole(Command):
    username: Username
    role: Role
    reason: Reason


class RevokeRole(Command):
    username: Username
    role: Role
    reason: Reason


class DeactivateOfficer(Command):
    username: Username
    reason: Reason


class SetPassword(Command):
    username: Username
    password: Password
