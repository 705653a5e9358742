"""The approval queue's table: what an approver filters and sorts it by, and
which columns fit the width the table has.

The decisive columns - who it is for, the benefit, the amount, eligibility
and approvals - are always shown, the amount never cut; the request date,
the case number and the requester follow as the width allows. Every cell
is literal text: names and payees are data, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, tzinfo
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from domain.values import format_minor
from ledger.vocabulary import BenefitCategory
from projections.queries import DisbursementRow
from tui.app.readside import when

SORTS = {"age": "oldest first", "amount": "largest amount first"}
CATEGORIES: tuple[str | None, ...] = (None, *(c.value for c in BenefitCategory))
ELIGIBILITY: tuple[bool | None, ...] = (None, True, False)

# Each cell has one column of padding on either side; a vertical scrollbar
# takes two columns when the rows do not fit.
CELL_PADDING = 2
SCROLLBAR = 2
NAME_COMFORT, NAME_FLOOR, BENEFIT_FLOOR = 22, 12, 10
# Shown in this order, when the width allows, after the decisive ones.
OPTIONAL = ("requested", "case", "by")
ORDER = ("requested", "name", "benefit", "amount", "elig", "appr", "case", "by")
LABELS = {
    "requested": "Requested",
    "name": "Name",
    "benefit": "Benefit",
    "amount": "Amount",
    "elig": "Elig.",
    "appr": "Appr.",
    "case": "Case",
    "by": "By",
}


def money(amount_minor: int | None, currency: str) -> str:
    return "-" if amount_minor is None else f"{format_minor(amount_minor, currency)} {currency}"


def words(value: str) -> str:
    return value.replace("_", " ")


def officer_name(officer_id: str, names: dict[str, str]) -> str:
    """An officer by name; an id nobody registered is shown as such, short."""
    return names.get(str(officer_id)) or f"officer {str(officer_id)[:8]}"


@dataclass(frozen=True)
class QueueFilter:
    """What the approver narrowed the queue to, and its order."""

    text: str = ""
    category: str | None = None
    eligible: bool | None = None
    sort: str = "age"

    def next_category(self) -> QueueFilter:
        at = CATEGORIES.index(self.category)
        return replace(self, category=CATEGORIES[(at + 1) % len(CATEGORIES)])

    def next_eligibility(self) -> QueueFilter:
        at = ELIGIBILITY.index(self.eligible)
        return replace(self, eligible=ELIGIBILITY[(at + 1) % len(ELIGIBILITY)])

    def next_sort(self) -> QueueFilter:
        order = list(SORTS)
        return replace(self, sort=order[(order.index(self.sort) + 1) % len(order)])

    def query(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "category": self.category,
            "eligible": self.eligible,
            "sort": self.sort,
        }

    def describe(self, shown: int, more: bool) -> str:
        count = f"{shown}{'+' if more else ''} request{'' if shown == 1 else 's'}"
        eligible = {None: "all", True: "eligible", False: "not eligible"}[self.eligible]
        return (
            f"{count} · b benefit: {words(self.category) if self.category else 'all'}"
            f" · l eligibility: {eligible} · s sort: {SORTS[self.sort]}"
        )


def fit_columns(cells: list[dict[str, str]], width: int) -> dict[str, int]:
    """Column key -> width for rows of `cells` in a table `width` wide."""

    def longest(key: str) -> int:
        return max([len(LABELS[key]), *(len(c[key]) for c in cells)])

    avail = width - SCROLLBAR
    cols = {
        "name": min(longest("name"), NAME_COMFORT),
        "benefit": longest("benefit"),
        "amount": longest("amount"),
        "elig": longest("elig"),
        "appr": longest("appr"),
    }
    used = sum(w + CELL_PADDING for w in cols.values())
    # Too narrow even for these: names, then benefits, end in an ellipsis.
    for key, floor in (("name", NAME_FLOOR), ("benefit", BENEFIT_FLOOR)):
        cut = min(max(used - avail, 0), max(cols[key] - floor, 0))
        cols[key] -= cut
        used -= cut
    for key in OPTIONAL:
        wanted = min(longest(key), NAME_COMFORT)
        if used + wanted + CELL_PADDING > avail:
            break
        cols[key] = wanted
        used += wanted + CELL_PADDING
    # What is left lets long names (then requesters) show whole.
    for key in ("name", "by"):
        if key in cols:
            grow = min(max(avail - used, 0), longest(key) - cols[key])
            cols[key] += grow
            used += grow
    return {key: cols[key] for key in ORDER if key in cols}


def row_cells(row: DisbursementRow, names: dict[str, str], zone: tzinfo = UTC) -> dict[str, str]:
    return {
        "requested": when(row.requested_at, zone, with_time=False),  # the officer's date
        "name": row.full_name,
        "benefit": words(row.category),
        "amount": money(row.amount_minor, row.currency),
        "elig": "✓ yes" if row.eligible else "✗ NO",
        "appr": f"{row.approvals_given}/{row.approvers_needed}",
        "case": row.case_number,
        "by": officer_name(row.requested_by, names),
    }


def clip(value: str, width: int) -> str:
    return value if len(value) <= width else value[: max(width - 1, 0)] + "…"


class QueueTable(DataTable):
    """Requests, one per row (keyed by disbursement id), in the columns that
    fit: laid out again when its width changes. The cursor stays on the same
    request across reloads, or goes where `show(..., focus_id=)` says."""

    def __init__(self, **kwargs: Any):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.requests: list[DisbursementRow] = []
        self.names: dict[str, str] = {}
        self._layout: dict[str, int] = {}

    def show(
        self,
        rows: list[DisbursementRow],
        names: dict[str, str],
        focus_id: str | None = None,
    ) -> None:
        """Fill with `rows`; the cursor on `focus_id` if given and there,
        else on the request it was on, else at the same place."""
        keep = focus_id or self.selected_id
        at = self.cursor_row
        self.requests, self.names = rows, names
        self._render_rows()
        ids = [r.disbursement_id for r in rows]
        if keep in ids:
            self.move_cursor(row=ids.index(keep))
        elif rows:
            self.move_cursor(row=min(at, len(rows) - 1))

    @property
    def selected(self) -> DisbursementRow | None:
        if not self.requests or not 0 <= self.cursor_row < len(self.requests):
            return None
        return self.requests[self.cursor_row]

    @property
    def selected_id(self) -> str | None:
        row = self.selected
        return row.disbursement_id if row else None

    def id_after(self, disbursement_id: str) -> str | None:
        """The request after this one (the one before it when it is the last)."""
        ids = [r.disbursement_id for r in self.requests]
        if disbursement_id not in ids:
            return None
        at = ids.index(disbursement_id)
        if at + 1 < len(ids):
            return ids[at + 1]
        return ids[at - 1] if at > 0 else None

    def on_resize(self) -> None:
        if self.size.width and self._layout != self._fit():
            at = self.cursor_row
            self._render_rows()
            if self.requests:
                self.move_cursor(row=min(at, len(self.requests) - 1))

    def _fit(self) -> dict[str, int]:
        cells = [row_cells(r, self.names, self.app.zone.tz) for r in self.requests]
        return fit_columns(cells, self.size.width or 200)

    def _render_rows(self) -> None:
        cells = [row_cells(r, self.names, self.app.zone.tz) for r in self.requests]
        layout = fit_columns(cells, self.size.width or 200)
        if layout != self._layout:
            self.clear(columns=True)
            for key, width in layout.items():
                justify = "right" if key == "amount" else "left"
                self.add_column(Text(LABELS[key], justify=justify), width=width, key=key)
            self._layout = layout
        else:
            self.clear()
        for row, cell in zip(self.requests, cells, strict=True):
            self.add_row(
                *(
                    Text(clip(cell[key], width), justify="right" if key == "amount" else "left")
                    for key, width in layout.items()
                ),
                key=row.disbursement_id,
            )
