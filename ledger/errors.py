"""Refusals of the ledger. Each is recorded against its command id, so a
retry of a refused command stays refused."""

from __future__ import annotations

from domain.errors import IllegalTransition, MsafiriError


class LedgerRefusal(IllegalTransition):
    """The command breaks a rule of the books or of the approval policy."""


class InsufficientFunds(LedgerRefusal):
    """The bank account would go below zero, pending reservations included."""


class MakerCheckerViolation(LedgerRefusal):
    """The requester approving their own request, or one officer approving twice."""


class CommandIdReused(MsafiriError):
    """A command id already used for a different command or different content."""


REFUSALS: dict[str, type[LedgerRefusal]] = {
    cls.__name__: cls for cls in (LedgerRefusal, InsufficientFunds, MakerCheckerViolation)
}
