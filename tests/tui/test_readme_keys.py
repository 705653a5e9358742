"""The README's "In the terminal UI" section names every key the screens bind:
a key added to a screen without a word in the README fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen

import tui.app.screens
from tui.app.app import MsafiriApp

README = Path(__file__).parents[2] / "README.md"
SPELLING = {
    "slash": "/",
    "escape": "esc",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}
# Keys every modal answers to (close, cancel, confirm), said once in the README
# as "esc cancels" and the questions' own buttons.
MODAL_KEYS = {"escape", "enter", "y", "n", "d"}


def section() -> str:
    text = README.read_text()
    start = text.index("## In the terminal UI")
    return text[start : text.index("\n## ", start + 1)]


def documented(key: str, words: set[str]) -> bool:
    spelled = SPELLING.get(key, key)
    return spelled in words or spelled.upper() in words


def bindings():
    for module_info in pkgutil.iter_modules(tui.app.screens.__path__):
        module = importlib.import_module(f"tui.app.screens.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Screen)
                and value.__module__ == module.__name__
            ):
                for binding in value.BINDINGS:
                    if isinstance(binding, Binding):
                        yield value.__name__, binding
    for binding in MsafiriApp.BINDINGS:
        if isinstance(binding, Binding):
            yield "MsafiriApp", binding


def test_every_bound_key_is_in_the_readme():
    words = set(re.findall(r"`([^`]+)`", section()))
    words |= {part for word in list(words) for part in word.split("/")}
    missing = []
    for owner, binding in bindings():
        keys = [k.strip() for k in binding.key.split(",")]
        if set(keys) <= MODAL_KEYS and owner not in ("CaseScreen",):
            continue
        if not any(documented(k, words) for k in keys):
            missing.append(f"{owner}: {binding.key} ({binding.description})")
    assert not missing, missing
