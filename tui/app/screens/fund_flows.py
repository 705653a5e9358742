"""The fund dashboard's chart: benefit flows per month, by benefit category.

Read from the fund journal: the posted lines on each category's expense
account, by value date. The fund books a benefit's expense when it is
approved (against Liabilities:Approved, settled by the payment); a payment
below the approved amount releases the rest in the payment's month. So a
month's bar is what the fund committed to each benefit that month.

The chart is drawn with plotext; the same figures are printed below it as
a table, because a stacked bar tells its categories apart by colour alone
(NO_COLOR).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from domain.values import format_minor, minor_unit_exponent
from ledger.vocabulary import BENEFIT_ACCOUNT

MONTHS_SHOWN = 12
CATEGORY_OF_ACCOUNT = {account: category.value for category, account in BENEFIT_ACCOUNT.items()}
BENEFIT_ACCOUNTS = tuple(BENEFIT_ACCOUNT.values())


def months_ending(last: date, count: int = MONTHS_SHOWN) -> list[str]:
    """["YYYY-MM", ...] for the `count` months up to and including `last`'s."""
    index = last.year * 12 + last.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


@dataclass(frozen=True)
class Flows:
    """Net benefit expense (minor units) per category per month, one currency."""

    currency: str
    months: list[str]
    by_category: dict[str, list[int]]  # category -> amount per month, months order

    @property
    def total_minor(self) -> int:
        return sum(sum(amounts) for amounts in self.by_category.values())


def benefit_flows(rows: list[dict[str, Any]], months: list[str]) -> list[Flows]:
    """monthly_flows() rows -> one Flows per currency, largest total first;
    only categories that moved in the window."""
    at = {month: i for i, month in enumerate(months)}
    per_currency: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        if row["month"] not in at or row["account"] not in CATEGORY_OF_ACCOUNT:
            continue
        table = per_currency.setdefault(row["currency"], {})
        amounts = table.setdefault(CATEGORY_OF_ACCOUNT[row["account"]], [0] * len(months))
        amounts[at[row["month"]]] += row["debit_minor"] - row["credit_minor"]
    flows = [
        Flows(currency, months, {c: table[c] for c in sorted(table) if any(table[c])})
        for currency, table in per_currency.items()
    ]
    return sorted(flows, key=lambda f: (-f.total_minor, f.currency))


def compact_amount(value: float) -> str:
    """Axis labels in major units: 455530.0 -> "455.5k"."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


def figures(flows: Flows) -> Table:
    """The chart's numbers, month by category, with totals."""
    title = f"Benefit expense per month, booked at approval ({flows.currency})"
    table = Table(title=title, title_justify="left")
    table.add_column("month")
    for category in flows.by_category:
        table.add_column(category.replace("_", " "), justify="right")
    table.add_column("total", justify="right", style="bold")
    for i, month in enumerate(flows.months):
        amounts = [flows.by_category[c][i] for c in flows.by_category]
        if not any(amounts):
            continue
        cells = [format_minor(a, flows.currency) if a else "-" for a in amounts]
        table.add_row(month, *cells, format_minor(sum(amounts), flows.currency))
    return table


class BenefitFlowsChart(Vertical):
    """Stacked bars (one colour per benefit category) and the figures."""

    DEFAULT_CSS = """
    BenefitFlowsChart { height: 1fr; }
    BenefitFlowsChart PlotextPlot { height: 1fr; min-height: 12; }
    BenefitFlowsChart #flows-figures { height: auto; max-height: 50%; }
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.flows: list[Flows] = []
        self.shown = 0  # which currency

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="flows-plot")
        yield Static("", id="flows-figures")

    def show(self, flows: list[Flows]) -> None:
        self.flows = flows
        self.shown = min(self.shown, max(len(flows) - 1, 0))
        self._draw()

    def next_currency(self) -> None:
        if len(self.flows) > 1:
            self.shown = (self.shown + 1) % len(self.flows)
            self._draw()

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        figures_widget = self.query_one("#flows-figures", Static)
        flows = self.flows[self.shown] if self.flows else None
        if flows is None or not flows.by_category:
            plt.title("Benefit expense per month: none in the last 12 months")
            figures_widget.update("No benefit was approved in the last 12 months.")
            plot.refresh()
            return
        scale = 10 ** minor_unit_exponent(flows.currency)
        labels = [m[2:] for m in flows.months]  # "26-11": narrow bars stay readable
        series = [[a / scale for a in amounts] for amounts in flows.by_category.values()]
        plt.stacked_bar(labels, series, labels=[c.replace("_", " ") for c in flows.by_category])
        others = f" · c: next of {len(self.flows)} currencies" if len(self.flows) > 1 else ""
        plt.title(f"Benefit expense per month by category, {flows.currency}{others}")
        top = max(sum(column) for column in zip(*series, strict=True))
        ticks = [top * i / 4 for i in range(5)]
        plt.yticks(ticks, [compact_amount(t) for t in ticks])
        figures_widget.update(figures(flows))
        plot.refresh()
