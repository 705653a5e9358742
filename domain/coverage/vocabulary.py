from __future__ import annotations

from enum import StrEnum


class AgreementKind(StrEnum):
    BLA = "bla"  # bilateral labour agreement
    SSA = "ssa"  # social security agreement
