"""Who is reading: the one small type every read that may disclose a
restricted record takes (projections/disclosure.py decides what it shows;
the access log records views by it).

A viewer is not proof of anything: the CLI and the TUI build one only for an
officer who signed in (password checked, role held), and a read without a
signed-in officer uses NOBODY, who sees every restricted text masked.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.model import Actor


@dataclass(frozen=True)
class Viewer:
    officer_id: str  # UUID text, as the read models hold it; "" for NOBODY
    role: str  # a domain.values.Role value; "" for NOBODY

    @classmethod
    def of(cls, actor: Actor) -> Viewer:
        return cls(str(actor.officer_id), actor.role.value)

    @property
    def anonymous(self) -> bool:
        return not self.officer_id


# No officer signed in (a script reading without --officer): sees what anyone
# may see, every restricted text masked.
NOBODY = Viewer("", "")
