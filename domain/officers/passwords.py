"""What a new password must be: long enough and not easy to guess.

NIST SP 800-63B: a minimum length and a check against commonly used and
compromised values, words of the service and of the person, repeats and
sequences - and no composition rules (no "one digit, one capital"). The
guessing check is zxcvbn (Dropbox's estimator; offline, with its own lists of
common passwords, words and names): a password it estimates below 10^8
guesses ("score" < 3) is refused. zxcvbn is not thread-safe (it keeps the
words of the person in module state), so calls are serialised here.

The demo's published password is allowed only for the demo's officers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from domain.errors import InvalidCommand

# The demo's published password (README); msafiri/demo/officers.py uses it.
DEMO_PASSWORD = "msafiri-demo"
# The demo's first administrator: a database whose installation was made by
# this username is a demo database (msafiri/demo/officers.py refuses others).
DEMO_ADMINISTRATOR = "demo.admin"
DEMO_USERNAME_PREFIX = "demo."

# Passwords are at most this long (domain/officers/commands.py); zxcvbn
# refuses anything over 72 characters unless told the limit.
MAX_LENGTH = 200
MIN_SCORE = 3

_zxcvbn_lock = threading.Lock()


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12

    def check(self, password: str, context: list[str], field: str = "password") -> None:
        """Refuse (InvalidCommand naming `field`) a password that is too short
        or easy to guess. `context`: the officer's own words (username, name,
        station) - a password built from them is easy to guess too."""
        if password == DEMO_PASSWORD:
            raise InvalidCommand(
                [(field, "the demo's published password is only for the demo's officers")]
            )
        if len(password) < self.min_length:
            raise InvalidCommand([(field, f"must be at least {self.min_length} characters")])
        if len(password) > MAX_LENGTH:
            raise InvalidCommand([(field, f"must be at most {MAX_LENGTH} characters")])
        from zxcvbn import zxcvbn

        words = [
            "msafiri",
            *(w for text in context for w in text.lower().replace(".", " ").split()),
        ]
        with _zxcvbn_lock:
            result = zxcvbn(password, user_inputs=words, max_length=MAX_LENGTH)
        if result["score"] < MIN_SCORE:
            raise InvalidCommand(
                [
                    (
                        field,
                        "is too easy to guess (a common password, words with digits, a repeat, "
                        "a sequence, or this service's or the officer's name): use a passphrase "
                        "of several unrelated words",
                    )
                ]
            )


def is_demo_officer(username: str, demo_installation: bool | None) -> bool:
    """A demo officer: a `demo.` username in a database the demo's
    administrator installed (`demo_installation` None: nothing is installed
    yet, and only the demo's administrator may install a demo)."""
    if not username.startswith(DEMO_USERNAME_PREFIX):
        return False
    if demo_installation is None:
        return username == DEMO_ADMINISTRATOR
    return demo_installation
