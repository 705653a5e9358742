"""Small widgets shared by the screens."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual._context import active_app
from textual.widgets import Input, TextArea


def literal(value: Any) -> Text:
    """Text from data, shown exactly as recorded: never read as markup
    ("[b]x[/b]", "[link=...]") nor emoji codes ("Assets:Bank:Operating"
    would show a bank emoji)."""
    return value if isinstance(value, Text) else Text(str(value))


def literals(*values: Any) -> list[Text]:
    """A table row of data cells (DataTable reads a plain str as markup)."""
    return [literal(value) for value in values]


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


def facts_grid(
    rows: Iterable[tuple[str, str]], *, title: str | None = None, gap: int = 1, fold: bool = False
) -> Table:
    """Labels in bold beside their values, as the screens show a record's
    facts; `fold`: long values wrap instead of being cut."""
    table = Table.grid(padding=(0, gap))
    table.title = title
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold" if fold else "ellipsis")
    for key, value in rows:
        table.add_row(literal(key), literal(value))
    return table
