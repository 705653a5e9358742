"""The fund officer's desk: approval and payment queues, request detail,
balances and the journal - all from the fund read models."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any
from uuid import UUID

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane

from domain.viewer import Viewer
from msafiri.zones import UTC_ZONE, OfficerZone
from projections.queries import AccountBalance, DisbursementRow, JournalLine, Page
from tui.app.catalogue import BY_KEY
from tui.app.reads import log_disbursement
from tui.app.readside import when
from tui.app.screens.fund_flows import (
    BENEFIT_ACCOUNTS,
    BenefitFlowsChart,
    benefit_flows,
    months_ending,
)
from tui.app.screens.fund_queue import QueueFilter, QueueTable, money, officer_name, words
from tui.app.widgets import facts_grid, text_input

QUEUE_ROWS = 50
JOURNAL_ROWS = 100
BALANCE_COLUMNS = ("Account", "Cur.", "Posted", "Pending", "Available")
JOURNAL_COLUMNS = ("#", "Value date", "Kind", "Account", "Debit", "Credit", "Memo", "Transfer")
# Below this many columns the request detail goes under the queue, so the
# queue keeps the whole width for its decisive columns.
SIDE_BY_SIDE_FROM = 150


def request_detail(
    row: DisbursementRow,
    case: Any,
    incident: Any,
    names: dict[str, str] | None = None,
    zone: OfficerZone = UTC_ZONE,
) -> Group:
    """Everything an approver weighs: eligibility, approvals, what is missing.
    Every value from data is literal text (a payee is not markup). Times are
    in the officer's `zone`, named on a row of its own."""
    names = names or {}
    rows = [
        ("request", Text(f"{row.disbursement_id} · {row.status}")),
        ("for", Text(f"{row.case_number} · {row.full_name} ({row.sex})")),
    ]
    if case is not None:
        rows.append(("case", Text(f"{words(case.stage)} · {case.destination or '-'}")))
    if incident is not None:
        rows.append(
            (
                "incident",
                Text(f"{words(incident.category)} · {incident.severity} · {incident.status}"),
            )
        )
    requester = officer_name(row.requested_by, names)
    rows += [
        ("benefit", Text(f"{words(row.category)}: {money(row.amount_minor, row.currency)}")),
        ("payee", Text(row.payee)),
        ("why", Text(row.justification or "-")),
        (
            "requested",
            Text(
                f"{when(row.requested_at, zone.tz)} by {requester} ({words(row.requested_by_role)})"
            ),
        ),
        ("expires", Text(when(row.expires_at, zone.tz))),
        # A row of its own: beside "requested" it wraps the requester's role.
        ("times in", Text(zone.name)),
    ]
    facts = facts_grid(rows)
    checks = Table(title="Eligibility", title_justify="left", show_edge=False)
    checks.add_column("")
    checks.add_column("rule")
    checks.add_column("reason")
    for check in row.eligibility:
        checks.add_row(
            "✓ pass" if check.get("passed") else "✗ FAIL",
            Text(check.get("rule", "")),
            Text(check.get("reason", "")),
        )
    still = max(row.approvers_needed - row.approvals_given, 0)
    needs = (
        f"needs {still} more approval(s) of {row.approvers_needed}" if still else "fully approved"
    )
    approvals = [
        Text(
            f"  {when(a.get('at'), zone.tz)} {officer_name(a.get('officer_id', ''), names)}"
            + (" (humanitarian exception)" if a.get("humanitarian_exception") else "")
            + (f": {a['reason']}" if a.get("reason") else "")
        )
        for a in row.approvals
    ]
    return Group(facts, checks, Text(f"Approvals: {needs}"), *approvals)


class DetailPane(VerticalScroll, can_focus=False):
    """The request beside (or under) its queue. Not focusable: focus moving
    off a queue whose tab is being left must not land here, which would bring
    that tab back (Enter shows the request on its own, scrollable screen)."""


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
        Binding("t", "next_tab", "Next tab", id="fund.next_tab"),
        Binding("c", "next_currency", "Chart currency", id="fund.chart_currency", show=False),
        # The queue's filters; the bar above the queue names them and their state.
        # `/` before the focused widget: in the filter box it is not typed.
        Binding("slash", "focus_filter", "Filter", id="fund.filter", show=False, priority=True),
        Binding("b", "next_benefit", "Benefit filter", id="fund.benefit", show=False),
        Binding("l", "next_eligibility", "Eligibility filter", id="fund.eligible", show=False),
        Binding("s", "next_sort", "Sort", id="fund.sort", show=False),
    ]
    DEFAULT_CSS = """
    FundHomeScreen #queue-bar { height: auto; padding: 0 1; }
    FundHomeScreen #queue-filter { width: 26; margin-right: 2; }
    FundHomeScreen #queue-status { width: 1fr; height: auto; color: $text-muted; }
    FundHomeScreen .split { layout: vertical; height: 1fr; }
    FundHomeScreen .split.side-by-side { layout: horizontal; }
    FundHomeScreen .split QueueTable { width: 1fr; height: 1fr; }
    FundHomeScreen .split.side-by-side QueueTable { width: 3fr; }
    FundHomeScreen .detail-pane { width: 1fr; height: 1fr; padding: 0 1; }
    FundHomeScreen .split.side-by-side .detail-pane { width: 2fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[DisbursementRow] = []
        self.payments: list[DisbursementRow] = []
        self.lines: list[JournalLine] = []
        self.names: dict[str, str] = {}  # officer id -> full name
        self.filter = QueueFilter()
        self._seq = 0
        self._detail_seq = 0  # a later highlight supersedes a detail still loading
        # After a decision: table id -> the request the cursor goes to next.
        self._focus_next: dict[str, str | None] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="fund-tabs"):
            with TabPane("Approval queue", id="tab-queue"):
                with Horizontal(id="queue-bar"):
                    yield text_input(
                        id="queue-filter", placeholder="/ name or case number", compact=True
                    )
                    yield Static(Text(self.filter.describe(0, False)), id="queue-status")
                with Container(classes="split"):
                    yield QueueTable(id="queue")
                    with DetailPane(classes="detail-pane"):
                        yield Static("", id="detail", classes="detail")
            with TabPane("To pay", id="tab-pay"), Container(classes="split"):
                yield QueueTable(id="to-pay")
                with DetailPane(classes="detail-pane"):
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
        self.query_one("#queue", QueueTable).focus()
        self.action_reload()

    def on_resize(self, event: events.Resize) -> None:
        wide = event.size.width >= SIDE_BY_SIDE_FROM
        for split in self.query(".split"):
            split.set_class(wide, "side-by-side")

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
        wanted = self.filter
        viewer = self.app.viewer

        def load() -> tuple[Any, ...]:
            journal: Page[JournalLine] = queries.journal(limit=JOURNAL_ROWS)
            flows = queries.monthly_flows(BENEFIT_ACCOUNTS, since_month=months[0])
            return (
                queries.approval_queue(
                    "requested", limit=QUEUE_ROWS, viewer=viewer, **wanted.query()
                ),
                queries.approval_queue("approved", limit=QUEUE_ROWS, viewer=viewer).rows,
                queries.fund_balances(),
                journal.rows,
                benefit_flows(flows, months),
                {o.officer_id: o.full_name for o in queries.officers()},
            )

        def show(loaded: tuple[Any, ...]) -> None:
            if seq == self._seq:
                self._show(*loaded)

        self.app.call(load, then=show, group="fund")

    def _show(
        self, queue: Page, payments, balances: list[AccountBalance], lines, flows, names
    ) -> None:
        self.queue, self.payments, self.lines = queue.rows, payments, lines
        self.names = names
        self.query_one(BenefitFlowsChart).show(flows)
        self.query_one("#queue-status", Static).update(
            Text(self.filter.describe(len(queue.rows), queue.after is not None))
        )
        for selector, rows in (("queue", self.queue), ("to-pay", payments)):
            table = self.query_one(f"#{selector}", QueueTable)
            table.show(rows, names, focus_id=self._focus_next.pop(selector, None))
        table = self.query_one("#balances", DataTable)
        table.clear()
        for b in balances:
            table.add_row(
                Text(b.account),
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
                when(line.value_at, self.app.zone.tz, with_time=False),
                line.kind,
                Text(line.account),
                money(line.debit_minor, line.currency) if line.debit_minor else "",
                money(line.credit_minor, line.currency) if line.credit_minor else "",
                Text(line.memo),
                line.transfer_id[:8],
                key=f"{line.notification_id}:{line.line}",
            )
        self._show_detail()

    # -- filtering ------------------------------------------------------------------

    def _refilter(self, wanted: QueueFilter) -> None:
        self.filter = wanted
        self.query_one("#fund-tabs", TabbedContent).active = "tab-queue"
        self.action_reload()

    def action_focus_filter(self) -> None:
        self.query_one("#fund-tabs", TabbedContent).active = "tab-queue"
        self.query_one("#queue-filter", Input).focus()

    def action_next_benefit(self) -> None:
        self._refilter(self.filter.next_category())

    def action_next_eligibility(self) -> None:
        self._refilter(self.filter.next_eligibility())

    def action_next_sort(self) -> None:
        self._refilter(self.filter.next_sort())

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "queue-filter" and event.value.strip() != self.filter.text:
            self._refilter(replace(self.filter, text=event.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "queue-filter":
            self.query_one("#queue", QueueTable).focus()

    def on_key(self, event: events.Key) -> None:
        # Esc in the filter box goes back to the queue (the text stays).
        if event.key == "escape" and self.focused is self.query_one("#queue-filter", Input):
            event.stop()
            self.query_one("#queue", QueueTable).focus()

    # -- selection ----------------------------------------------------------------

    def _active_table(self) -> QueueTable:
        tab = self.query_one(TabbedContent).active
        return self.query_one("#to-pay" if tab == "tab-pay" else "#queue", QueueTable)

    def _selected(self) -> DisbursementRow | None:
        return self._active_table().selected

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
            f"{row.case_number} · {row.full_name} · {words(row.category)} "
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
        queries, names, viewer = self.app.read_side.queries, self.names, self.app.viewer
        log_disbursement(self.app, row, self)

        def load() -> tuple[Any, Any]:
            return request_context(queries, row, viewer)

        def show(loaded: tuple[Any, Any]) -> None:
            if seq == self._detail_seq:
                target.update(request_detail(row, *loaded, names, self.app.zone))

        self.app.call(load, then=show, group="detail")

    # -- actions ------------------------------------------------------------------

    def action_act(self, key: str) -> None:
        from tui.app.screens.actions import open_action

        table = self._active_table()
        if table.selected_id is not None:
            # Decided: the cursor goes on to the next request, not to the top.
            after = table.id_after(table.selected_id)
            on_done = partial(self.after_action, table=table.id, focus_id=after)
        else:
            on_done = self.after_action
        open_action(self.app, BY_KEY[key], on_done=on_done)

    def after_action(
        self, result: Any, table: str | None = None, focus_id: str | None = None
    ) -> None:
        if result is not None:
            if table is not None:
                self._focus_next[table] = focus_id
            self.action_reload()

    def action_next_tab(self) -> None:
        """The next tab (queue, to pay, balances, journal, flows), its table focused."""
        tabs = self.query_one("#fund-tabs", TabbedContent)
        order = [pane.id for pane in tabs.query(TabPane)]
        tabs.active = order[(order.index(tabs.active) + 1) % len(order)]
        tables = tabs.active_pane.query(DataTable) if tabs.active_pane else []
        if tables:
            tables.first().focus()

    def action_next_currency(self) -> None:
        self.query_one(BenefitFlowsChart).next_currency()

    def action_open_case(self) -> None:
        from tui.app.screens.case_view import CaseScreen

        row = self._selected()
        if row is not None:
            self.app.push_screen(CaseScreen(UUID(row.migrant_id)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a request: the request on the whole screen."""
        from tui.app.screens.fund_request import RequestScreen

        table = event.data_table
        if isinstance(table, QueueTable) and table.selected is not None:
            row = table.selected
            after = table.id_after(row.disbursement_id)
            screen = RequestScreen(row, self.names, table=str(table.id), next_id=after)
            self.app.push_screen(screen, self._request_closed)

    def _request_closed(self, result: Any) -> None:
        """The request screen decided (it returns the next request's id) or not."""
        if isinstance(result, tuple):
            table, focus_id = result
            self._focus_next[table] = focus_id
            self.action_reload()


def request_context(queries: Any, row: DisbursementRow, viewer: Viewer) -> tuple[Any, Any]:
    """Blocking: the case and the incident a request is for."""
    case = queries.get_case(row.migrant_id)
    incident = queries.get_incident(row.incident_id, viewer=viewer) if row.incident_id else None
    return case, incident
