"""Who is signed in, and in which role."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.model import Actor
from domain.values import Role


@dataclass(frozen=True)
class Session:
    officer_id: UUID
    username: str
    full_name: str
    station: str
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(officer_id=self.officer_id, role=self.role)

    @property
    def label(self) -> str:
        return f"{self.full_name} ({self.username}) · {role_label(self.role)}"


def role_label(role: Role) -> str:
    return role.value.replace("_", " ")
