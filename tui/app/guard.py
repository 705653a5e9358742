"""The global guard: every refusal becomes one line an officer can read.

Domain refusals (MsafiriError) and operating errors from a worker are shown
as notifications and the app carries on; a programmer error that breaks a
widget ends the app with one line, the traceback going to a log file.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import platformdirs

from domain.errors import ConcurrentUpdate, InvalidCommand, MsafiriError, NotAuthorised


def explain(error: BaseException) -> tuple[str, str]:
    """(title, message) for an officer; never a traceback."""
    if isinstance(error, InvalidCommand):
        return "Not saved", "\n".join(f"{field}: {rule}" for field, rule in error.errors)
    if isinstance(error, NotAuthorised):
        return "Refused", str(error)
    if isinstance(error, ConcurrentUpdate):
        return "Changed meanwhile", str(error)
    if isinstance(error, MsafiriError):
        return "Refused", str(error)
    lines = [line for line in str(error).splitlines() if line.strip()]
    reason = lines[-1] if lines else ""
    return "Unexpected error", f"{type(error).__name__}: {reason}".rstrip(": ")


def crash_log_path() -> Path:
    return Path(platformdirs.user_log_dir("msafiri", appauthor=False)) / "tui-crash.log"


def write_crash_log(error: BaseException) -> Path | None:
    path = crash_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as log:
            log.write("".join(traceback.format_exception(error)))
            log.write("\n")
    except OSError:
        return None
    return path
