"""The fund officer's desk: approval and payment queues, request detail,
balances and the journal - all from the fund read models."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from domain.values import format_minor
from projections.queries import AccountBalance, DisbursementRow, JournalLine, Page
from tui.app.catalogue import BY_KEY
from tui.app.readside import when
from tui.app.screens.fund_flows import (
    BENEFIT_ACCOUNTS,
    BenefitFlowsChart,
    benefit_flows,
    months_ending,
)
from tui.app.widgets import facts_grid

QUEUE_ROWS = 50
JOURNAL_ROWS = 100
# What an approver scans first comes first; the case and the requester's
# role are further right (and in the detail beside the table).
QUEUE_COLUMNS = ("Requested", "Name", "Benefit", "Amount", "Elig.", "Appr.", "Case", "By")
BALANCE_COLUMNS = ("Account", "Cur.", "Posted", "Pending", "Available")
JOURNAL_COLUMNS = ("#", "Value date", "Kind", "Account", "Debit", "Credit", "Memo", "Transfer")


def money(amount_minor: int | None, currency: str) -> str:
    return "-" if amount_minor is None else f"{format_minor(amount_minor, currency)} {currency}"


def request_detail(row: DisbursementRow, case: Any, incident: Any) -> Group:
    """Everything an approver weighs: eligibility, approvals, what is missing."""
    rows = [
        ("request", f"{row.disbursement_id} · {row.status}"),
        ("for", f"{row.case_number} · {row.full_name} ({row.sex})"),
    ]
    if case is not None:
        rows.append(("case", f"{case.stage.replace('_', ' ')} · {case.destination or '-'}"))
    if incident is not None:
        rows.append(
            (
                "incident",
                f"{incident.category.replace('_', ' ')} · {incident.severity} · {incident.status}",
            )
        )
    rows += [
        ("benefit", f"{row.category.replace('_', ' ')}: {money(row.amount_minor, row.currency)}"),
        ("payee", row.payee),
        ("why", row.justification or "-"),
        ("requested", f"{when(row.requested_at)} by {row.requested_by_role.replace('_', ' ')}"),
        ("expires", when(row.expires_at)),
    ]
    facts = facts_grid(rows)
    checks = Table(title="Eligibility", title_justify="left", show_edge=False)
    checks.add_column("")
    checks.add_column("rule")
    checks.add_column("reason")
    for check in row.eligibility:
        checks.add_row(
            "✓ pass" if check.get("passed") else "✗ FAIL",
            check.get("rule", ""),
            check.get("reason", ""),
        )
    still = max(row.approvers_needed - row.approvals_given, 0)
    needs = (
        f"needs {still} more approval(s) of {row.approvers_needed}" if still else "fully approved"
    )
    approvals = [
        f"  {a.get('at', '')[:16].replace('T', ' ')} officer {str(a.get('officer_id', ''))[:8]}"
        + (" (humanitarian exception)" if a.get("humanitarian_exception") else "")
        + (f": {a['reason']}" if a.get("reason") else "")
        for a in row.approvals
    ]
    return Group(facts, checks, f"Approvals: {needs}", *approvals)


class FundHomeScreen(Screen):
    BINDINGS = [
        Binding("a", "act('fund.approve')", "Approve", id="fund.approve"),
        Binding("e", "act('fund.exception')", "Exception", id="fund.exception"),
        Binding("x", "act('fund.reject')", "Reject", id="fund.reject"),
        Binding("p", "act('fund.pay')", "Pay", id="fund.pay"),
        Binding("g", "act('fund.grant')", "Grant", id="fund.grant"),
        Binding("v", "act('fund.reverse')", "Reverse", id="fund.reverse"),
        Binding("r", "reload", "Reload", id="fund.reload"),
        Binding("o", "open_case", "Open case", id="fund.open_case"),
        Binding("c", "next_currency", "Chart currency", id="fund.chart_currency", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[DisbursementRow] = []
        self.payments: list[DisbursementRow] = []
        self.lines: list[JournalLine] = []
        self._seq = 0
        self._detail_seq = 0  # a later highlight supersedes a detail still loading

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="fund-tabs"):
            with TabPane("Approval queue", id="tab-queue"), Horizontal(classes="split"):
                yield self._table("queue", QUEUE_COLUMNS)
                yield Static("", id="detail", classes="detail")
            with TabPane("To pay", id="tab-pay"), Horizontal(classes="split"):
                yield self._table("to-pay", QUEUE_COLUMNS)
                yield Static("", id="pay-detail", classes="detail")
            with TabPane("Balances", id="tab-balances"):
                yield self._table("balances", BALANCE_COLUMNS)
            with TabPane("Journal", id="tab-journal"):
                yield self._table("journal", JOURNAL_COLUMNS)
            with TabPane("Flows", id="tab-flows"):
                yield BenefitFlowsChart(id="flows")
        yield Footer()

    @staticmethod
    def _table(table_id: str, columns: tuple[str, ...]) -> DataTable:
        table: DataTable = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
        table.add_columns(*columns)
        return table

    def on_mount(self) -> None:
        self.action_reload()

    def refresh_data(self) -> None:
        self.action_reload()

    @staticmethod
    def wants_change(change: Any) -> bool:
        # The fund read models, and the names they copy from the cases.
        return change.context == "fund" or change.event_type == "RegistrationCorrected"

    # -- loading ----------------------------------------------------------------

    def action_reload(self) -> None:
        self._seq += 1
        seq = self._seq
        queries = self.app.read_side.queries
        months = months_ending(self.app.clock().date())

        def load() -> tuple[Any, ...]:
            journal: Page[JournalLine] = queries.journal(limit=JOURNAL_ROWS)
            flows = queries.monthly_flows(BENEFIT_ACCOUNTS, since_month=months[0])
            return (
                queries.approval_queue("requested", limit=QUEUE_ROWS).rows,
                queries.approval_queue("approved", limit=QUEUE_ROWS).rows,
                queries.fund_balances(),
                journal.rows,
                benefit_flows(flows, months),
            )

        def show(loaded: tuple[Any, ...]) -> None:
            if seq == self._seq:
                self._show(*loaded)

        self.app.call(load, then=show, group="fund")

    def _show(self, queue, payments, balances: list[AccountBalance], lines, flows) -> None:
        self.queue, self.payments, self.lines = queue, payments, lines
        self.query_one(BenefitFlowsChart).show(flows)
        self._fill_requests("#queue", queue)
        self._fill_requests("#to-pay", payments)
        table = self.query_one("#balances", DataTable)
        table.clear()
        for b in balances:
            table.add_row(
                b.account,
                b.currency,
                money(b.posted_minor, b.currency),
                money(b.pending_minor, b.currency),
                money(b.available_minor, b.currency),
            )
        table = self.query_one("#journal", DataTable)
        table.clear()
        for line in lines:
            table.add_row(
                str(line.notification_id),
                when(line.value_at, with_time=False),
                line.kind,
                line.account,
                money(line.debit_minor, line.currency) if line.debit_minor else "",
                money(line.credit_minor, line.currency) if line.credit_minor else "",
                line.memo,
                line.transfer_id[:8],
                key=f"{line.notification_id}:{line.line}",
            )
        self._show_detail()

    def _fill_requests(self, selector: str, rows: list[DisbursementRow]) -> None:
        table = self.query_one(selector, DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                when(row.requested_at, with_time=False),
                row.full_name,
                row.category.replace("_", " "),
                money(row.amount_minor, row.currency),
                "✓ yes" if row.eligible else "✗ NO",
                f"{row.approvals_given}/{row.approvers_needed}",
                row.case_number,
                row.requested_by_role.replace("_", " "),
                key=row.disbursement_id,
            )

    # -- selection ----------------------------------------------------------------

    def _selected(self) -> DisbursementRow | None:
        tab = self.query_one(TabbedContent).active
        selector, rows = ("#to-pay", self.payments) if tab == "tab-pay" else ("#queue", self.queue)
        table = self.query_one(selector, DataTable)
        if not table.row_count or table.cursor_row >= len(rows):
            return None
        return rows[table.cursor_row]

    @property
    def disbursement_id(self) -> UUID | None:
        row = self._selected()
        return UUID(row.disbursement_id) if row else None

    @property
    def transfer_id(self) -> UUID | None:
        table = self.query_one("#journal", DataTable)
        if self.query_one(TabbedContent).active != "tab-journal" or not table.row_count:
            return None
        return UUID(self.lines[table.cursor_row].transfer_id)

    @property
    def context_line(self) -> str:
        row = self._selected()
        if row is None:
            return ""
        return (
            f"{row.case_number} · {row.full_name} · {row.category.replace('_', ' ')} "
            f"{money(row.amount_minor, row.currency)} to {row.payee}"
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id in ("queue", "to-pay"):
            self._show_detail()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        self._detail_seq += 1
        seq = self._detail_seq
        row = self._selected()
        tab = self.query_one(TabbedContent).active
        target = self.query_one("#pay-detail" if tab == "tab-pay" else "#detail", Static)
        if row is None:
            target.update("Nothing waiting." if tab in ("tab-queue", "tab-pay") else "")
            return
        queries = self.app.read_side.queries

        def load() -> tuple[Any, Any]:
            case = queries.get_case(row.migrant_id)
            incident = queries.get_incident(row.incident_id) if row.incident_id else None
            return case, incident

        def show(loaded: tuple[Any, Any]) -> None:
            if seq == self._detail_seq:
                target.update(request_detail(row, *loaded))

        self.app.call(load, then=show, group="detail")

    # -- actions ------------------------------------------------------------------

    def action_act(self, key: str) -> None:
        from tui.app.screens.actions import open_action

        open_action(self.app, BY_KEY[key], on_done=self.after_action)

    def after_action(self, result: Any) -> None:
        if result is not None:
            self.action_reload()

    def action_next_currency(self) -> None:
        self.query_one(BenefitFlowsChart).next_currency()

    def action_open_case(self) -> None:
        from tui.app.screens.case_view import CaseScreen

        row = self._selected()
        if row is not None:
            self.app.push_screen(CaseScreen(UUID(row.migrant_id)))
