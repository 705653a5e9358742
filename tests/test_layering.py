"""Layers import downwards only: domain → ledger → projections → integration → msafiri/tui.

`msafiri.settings` is the one exception: a leaf module of plain value types (it
imports nothing of ours) that every layer may take its configuration from.
Each check imports a whole package in a fresh interpreter and looks at what
ended up in `sys.modules`, so an import hidden in a submodule is caught too.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

OURS_ABOVE = {
    "domain": ("ledger", "projections", "integration", "msafiri.bootstrap", "msafiri.cli", "tui"),
    "ledger": ("projections", "integration", "msafiri.bootstrap", "msafiri.cli", "tui"),
    "projections": ("integration", "msafiri.bootstrap", "msafiri.cli", "msafiri.demo", "tui"),
    "integration": ("msafiri.bootstrap", "msafiri.cli", "msafiri.demo", "tui"),
    "msafiri.settings": ("domain", "ledger", "projections", "integration", "tui"),
    "msafiri.cli": ("tui",),
}
THIRD_PARTY = {
    "domain": ("textual", "nats", "psycopg"),
    "ledger": ("textual", "nats", "psycopg"),
    "projections": ("textual", "nats"),
    "integration": ("textual",),
    "msafiri.cli": ("textual",),
}


def _loaded_after_import(package: str, watched: tuple[str, ...]) -> list[str]:
    code = (
        "import importlib, pkgutil, sys\n"
        f"root = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(getattr(root, '__path__', []), root.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        f"watched = {watched!r}\n"
        "loaded = sorted(w for w in watched if any(m == w or m.startswith(w + '.')"
        " for m in sys.modules))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [name for name in result.stdout.strip().split(",") if name]


@pytest.mark.parametrize(("package", "above"), sorted(OURS_ABOVE.items()))
def test_no_layer_imports_a_layer_above_it(package, above):
    assert _loaded_after_import(package, above) == [], f"{package} imports upwards"


@pytest.mark.parametrize(("package", "forbidden"), sorted(THIRD_PARTY.items()))
def test_core_packages_import_without_outer_libraries(package, forbidden):
    assert _loaded_after_import(package, forbidden) == [], f"{package} imports {forbidden}"
