"""One disbursement request on the whole screen (Enter on the fund desk's
queue): everything the desk's detail pane shows, with room for it on a
small terminal, and the same decisions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from projections.queries import DisbursementRow
from tui.app.catalogue import BY_KEY
from tui.app.reads import log_disbursement
from tui.app.screens.fund_queue import money, words


class RequestScreen(Screen):
    """Dismissed with (table id, next request id) after a decision, so the
    desk's cursor goes on to the next request; with None after Esc."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="request.back"),
        Binding("a", "act('fund.approve')", "Approve", id="request.approve"),
        Binding("e", "act('fund.exception')", "Exception", id="request.exception"),
        Binding("x", "act('fund.reject')", "Reject", id="request.reject"),
        Binding("p", "act('fund.pay')", "Pay", id="request.pay"),
    ]
    DEFAULT_CSS = """
    RequestScreen #request-title { padding: 0 1; text-style: bold; height: auto; }
    RequestScreen #request-body { height: 1fr; padding: 0 1; }
    """

    def __init__(
        self,
        row: DisbursementRow,
        names: dict[str, str],
        table: str | None = None,
        next_id: str | None = None,
    ):
        super().__init__()
        self.row = row
        self.names = names
        self.table = table
        self.next_id = next_id

    def compose(self) -> ComposeResult:
        row = self.row
        yield Header()
        yield Static(
            Text(
                f"Request · {row.full_name} · {row.case_number} · {words(row.category)} "
                f"{money(row.amount_minor, row.currency)}"
            ),
            id="request-title",
        )
        with VerticalScroll(id="request-body"):
            yield Static("Reading the request…", id="request-detail")
        yield Footer()

    def on_mount(self) -> None:
        from tui.app.screens.fund import request_context, request_detail

        queries = self.app.read_side.queries
        log_disbursement(self.app, self.row)

        def show(loaded: tuple[Any, Any]) -> None:
            self.query_one("#request-detail", Static).update(
                request_detail(self.row, *loaded, self.names, self.app.zone)
            )

        self.app.call(
            request_context, queries, self.row, self.app.viewer, then=show, group="request"
        )
        self.query_one("#request-body").focus()

    @property
    def disbursement_id(self) -> UUID:
        return UUID(self.row.disbursement_id)

    @property
    def context_line(self) -> str:
        row = self.row
        return (
            f"{row.case_number} · {row.full_name} · {words(row.category)} "
            f"{money(row.amount_minor, row.currency)} to {row.payee}"
        )

    def action_back(self) -> None:
        self.dismiss(None)

    def action_act(self, key: str) -> None:
        from tui.app.screens.actions import open_action

        open_action(self.app, BY_KEY[key], on_done=self._decided)

    def _decided(self, result: Any) -> None:
        if result is not None:
            self.dismiss((self.table, self.next_id))
