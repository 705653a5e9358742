"""Small-cell suppression for statistics of restricted incident categories.

One module, used by the TUI statistics screen, the `msafiri statistics`
commands and their CSV/JSON exports, so that every way out of the system hides
the same cells (docs/privacy.md, "Statistics and small cells").

A table is rows x columns of counts with their row totals, column totals and
grand total. The rule, applied to the table *with its totals* (a total is a
cell like any other, so a small total is hidden too):

1. Primary: a count from 1 to threshold-1 in a restricted row is hidden.
2. Complementary, repeated until nothing changes:
   a. a line (a row or a column, totals included) with exactly one hidden
      cell gets a second one: its smallest shown non-zero cell, else its
      smallest shown cell;
   b. a line whose total is shown and whose hidden cells add up to 1 ..
      threshold-1 gets one more hidden cell (the same choice), so a reader
      cannot learn that a small number hides among them;
   c. a hidden cell that the shown figures still determine exactly (checked by
      linear algebra over every row and column equation) makes the smallest
      shown cell of its row, else of its column, hidden too.
Zero counts are not small counts: a zero is shown unless it is needed as a
complement. Hiding only ever grows, so the loop ends (at worst with every
cell hidden).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from domain.incidents import sensitivity

# One list decides both who reads an incident's free text and which
# statistics are suppressed: the sensitivity map (domain/incidents/sensitivity.py).
RESTRICTED_CATEGORIES = sensitivity.RESTRICTED_CATEGORIES

HIDDEN = "·"


def is_restricted(category: str) -> bool:
    """Whether counts of this incident category are published only with
    small cells suppressed (the category is restricted)."""
    return sensitivity.is_restricted(category)


def legend(threshold: int) -> str:
    """The line shown under every table with hidden cells: why they are hidden."""
    return (
        f"{HIDDEN} hidden: fewer than {threshold} incidents of a restricted category, "
        "or hidden with them so that no total gives a small count away"
    )


@dataclass(frozen=True)
class SuppressedTable:
    """A table with its totals; `None` where a figure is hidden."""

    row_keys: tuple[Hashable, ...]
    column_keys: tuple[Hashable, ...]
    cells: tuple[tuple[int | None, ...], ...]  # rows x columns
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    grand_total: int | None

    @property
    def hidden(self) -> int:
        """How many figures (cells and totals) are hidden."""
        everything = [
            *(c for row in self.cells for c in row),
            *self.row_totals,
            *self.column_totals,
            self.grand_total,
        ]
        return sum(v is None for v in everything)


def suppress_table(
    row_keys: Sequence[Hashable],
    column_keys: Sequence[Hashable],
    counts: Sequence[Sequence[int]],
    threshold: int,
    restricted: Callable[[Hashable], bool] | bool = True,
) -> SuppressedTable:
    """Hide small counts of restricted rows and whatever would give them away.

    `restricted` is True (every row), False (nothing is hidden) or a
    predicate on the row key (e.g. `is_restricted` for rows of categories)."""
    rows, cols = len(row_keys), len(column_keys)
    grid = [[int(v) for v in row] + [sum(row)] for row in counts]
    grid.append([sum(grid[i][j] for i in range(rows)) for j in range(cols + 1)])
    hidden = _hide(grid, rows, cols, threshold, restricted, row_keys)
    shown = [
        [None if (i, j) in hidden else grid[i][j] for j in range(cols + 1)] for i in range(rows + 1)
    ]
    return SuppressedTable(
        tuple(row_keys),
        tuple(column_keys),
        tuple(tuple(shown[i][:cols]) for i in range(rows)),
        tuple(shown[i][cols] for i in range(rows)),
        tuple(shown[rows][:cols]),
        shown[rows][cols],
    )


def _hide(grid, rows, cols, threshold, restricted, row_keys) -> set[tuple[int, int]]:
    if restricted is False or threshold <= 1:
        return set()
    watched = (lambda _key: True) if restricted is True else restricted
    hidden: set[tuple[int, int]] = set()
    for i in range(rows + 1):
        # The totals row is restricted when any row under it is.
        row_restricted = watched(row_keys[i]) if i < rows else any(watched(k) for k in row_keys)
        for j in range(cols + 1):
            if row_restricted and 0 < grid[i][j] < threshold:
                hidden.add((i, j))
    if not hidden:
        return hidden
    lines = [[(i, j) for j in range(cols + 1)] for i in range(rows + 1)] + [
        [(i, j) for i in range(rows + 1)] for j in range(cols + 1)
    ]
    while True:
        grew = False
        for line in lines:
            inside = [c for c in line if c in hidden]
            if not inside:
                continue
            total = line[-1]
            weight = sum(grid[i][j] for i, j in inside)
            lonely = len(inside) == 1
            small = total not in hidden and 0 < weight < threshold
            if lonely or small:
                extra = _smallest_shown(grid, line, hidden)
                if extra is not None:
                    hidden.add(extra)
                    grew = True
        if grew:
            continue
        exposed = determined(grid, rows, cols, hidden)
        for i, j in exposed:
            extra = _smallest_shown(grid, lines[i], hidden) or _smallest_shown(
                grid, lines[rows + 1 + j], hidden
            )
            if extra is not None:
                hidden.add(extra)
                grew = True
        if not grew:
            return hidden


def _smallest_shown(grid, line, hidden) -> tuple[int, int] | None:
    shown = [c for c in line if c not in hidden]
    if not shown:
        return None
    # Non-zero cells first (a hidden zero adds little doubt), the line's total
    # last, then the smallest, then the first in the table.
    return min(
        shown,
        key=lambda c: (grid[c[0]][c[1]] == 0, c == line[-1], grid[c[0]][c[1]], c),
    )


def determined(grid, rows, cols, hidden: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The hidden cells whose value follows exactly from the shown figures and
    the table's equations (each row and column adds up to its total)."""
    unknowns = sorted(hidden)
    index = {cell: n for n, cell in enumerate(unknowns)}
    equations: list[list[Fraction]] = []
    for i in range(rows + 1):
        equations.append(_equation([(i, j) for j in range(cols)], (i, cols), index))
    for j in range(cols + 1):
        equations.append(_equation([(i, j) for i in range(rows)], (rows, j), index))
    pivots = _reduce(equations, len(unknowns))
    # In reduced row echelon form an unknown is fixed exactly when some row
    # is that unknown alone.
    out = set()
    for row in pivots:
        nonzero = [n for n, v in enumerate(row) if v]
        if len(nonzero) == 1:
            out.add(unknowns[nonzero[0]])
    return out


def _equation(parts, total, index) -> list[Fraction]:
    """sum(parts) - total = 0 over the unknowns (shown values drop out: only
    which unknowns are tied together matters for what is determined)."""
    row = [Fraction(0)] * len(index)
    for cell in parts:
        if cell in index:
            row[index[cell]] += 1
    if total in index:
        row[index[total]] -= 1
    return row


def _reduce(matrix: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    rows = [r[:] for r in matrix if any(r)]
    out: list[list[Fraction]] = []
    for col in range(width):
        pivot = next((r for r in rows if r[col]), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        pivot = [v / pivot[col] for v in pivot]
        rows = [[a - r[col] * b for a, b in zip(r, pivot, strict=True)] for r in rows]
        out = [[a - r[col] * b for a, b in zip(r, pivot, strict=True)] for r in out]
        out.append(pivot)
        rows = [r for r in rows if any(r)]
    return out


def show(value: int | None) -> str:
    """A figure as people read it: thousands separated, or the hidden mark."""
    return HIDDEN if value is None else f"{value:,}"
