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


class RequestLapsed(LedgerRefusal):
    """A decision on a request past its expiry date. The lapse itself is
    recorded (reservation released) in the same save as the refusal."""


class AboveCap(LedgerRefusal):
    """A request for more than the policy's cap for its benefit."""


class ValueDateRefused(LedgerRefusal):
    """A value date before the fund opened, in the future, or (a payment)
    before its approval."""


class OverdrawnByValueDate(InsufficientFunds):
    """The posting would leave an account that must stay positive below zero
    on its value date or a later one."""


class CommandIdReused(MsafiriError):
    """A command id already used for a different command or different content."""


REFUSALS: dict[str, type[LedgerRefusal]] = {
    cls.__name__: cls
    for cls in (
        LedgerRefusal,
        InsufficientFunds,
        MakerCheckerViolation,
        RequestLapsed,
        AboveCap,
        ValueDateRefused,
        OverdrawnByValueDate,
    )
}
