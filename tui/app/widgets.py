"""Small widgets shared by the screens."""

from __future__ import annotations

import contextlib
from typing import Any

from textual._context import active_app
from textual.widgets import Input, TextArea


def text_input(**kwargs: Any) -> Input:
    """An Input that honours the app's blink setting (snapshots need a
    cursor that holds still)."""
    field = Input(**kwargs)
    with contextlib.suppress(LookupError):
        field.cursor_blink = getattr(active_app.get(), "blink", True)
    return field


def text_area(text: str = "", **kwargs: Any) -> TextArea:
    """A multi-line editor for long text (notes, reasons); Tab leaves it,
    Enter is a new line (ctrl+s saves the form)."""
    area = TextArea(text, soft_wrap=True, tab_behavior="focus", **kwargs)
    with contextlib.suppress(LookupError):
        area.cursor_blink = getattr(active_app.get(), "blink", True)
    return area
