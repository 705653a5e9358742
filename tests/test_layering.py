"""The core imports without Textual, NATS or a database driver."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("domain", ("textual", "nats", "psycopg")),
        ("ledger", ("textual", "nats", "psycopg")),
        ("projections", ("textual",)),
        ("tui.cli.main", ("textual",)),
    ],
)
def test_core_packages_import_without_outer_layers(package, forbidden):
    code = (
        "import importlib, pkgutil, sys\n"
        f"root = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(getattr(root, '__path__', []), root.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        f"loaded = sorted(m for m in {forbidden!r} if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} imports {result.stdout.strip()}"
