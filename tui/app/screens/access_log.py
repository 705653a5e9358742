"""The access log for auditors, supervisors and the data protection
officer: who viewed a case, what an officer viewed between two dates, which
break-glass uses wait for review - and, for a supervisor or an auditor, the
review of the one selected (Enter or F6: the finding and a note) - and the
chain's verification (F5).

The service checks the role and logs each question (projections/access_log/
service.py); this screen only asks and shows. The break-glass list comes from
the break-glass events (the same answer as `msafiri access break-glass`), so a
review made here or in the CLI clears it in both."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from domain.access.aggregate import REVIEWERS
from domain.errors import InvalidCommand
from msafiri.zones import shown
from projections.references import KINDS, ReferenceNotFound, resolve
from tui.app.screens.audit import _day
from tui.app.widgets import literals, text_input


def columns(zone: str) -> tuple[str, ...]:
    """Times are the officer's, and the header names the zone."""
    return ("#", f"When ({zone})", "Who", "Role", "What", "Record", "Reason", "Details")


MODES = [
    ("who viewed a case", "case"),
    ("what an officer viewed", "officer"),
    ("break-glass not reviewed", "break_glass"),
]


class AccessLogScreen(Screen):
    DEFAULT_CSS = """
    #access-bar, #access-dates { height: auto; padding: 0 1; }
    #access-bar #mode { width: 32; }
    #access-bar #subject { width: 1fr; }
    #access-dates Input { width: 24; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="access.back"),
        Binding("ctrl+r", "run", "Run", id="access.run"),
        Binding("f5", "verify", "Verify chain", id="access.verify"),
        Binding("f6", "review", "Review break-glass", id="access.review"),
    ]
    mode_shown = "case"  # what the table holds now

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Access log · who read what", classes="card-title")
        with Horizontal(id="access-bar"):
            yield Select(MODES, value="case", allow_blank=False, id="mode")
            yield text_input(id="subject", placeholder="case number, or officer username")
        # On a row of their own: at 80 columns the bar has room for the subject.
        with Horizontal(id="access-dates"):
            yield text_input(id="since", placeholder="from YYYY-MM-DD")
            yield text_input(id="until", placeholder="to YYYY-MM-DD")
        table: DataTable = DataTable(id="entries", cursor_type="row", zebra_stripes=True)
        table.add_columns(*columns(self.app.zone.name))
        yield table
        yield Static("Type a case number and press Enter; F5 verifies the chain", id="access-info")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#subject", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_run()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value == "break_glass":
            self.action_run()

    def action_run(self) -> None:
        app: Any = self.app
        session, service = app.session, app.system.access_log
        mode = self.query_one("#mode", Select).value
        subject = self.query_one("#subject", Input).value.strip()
        since_text = self.query_one("#since", Input).value
        until_text = self.query_one("#until", Input).value
        zone = app.zone.tz  # dates typed are the officer's days
        since, until = _day(since_text, zone), _day(until_text, zone, end=True)
        if (since_text.strip() and since is None) or (until_text.strip() and until is None):
            app.notify("from and to are dates, e.g. 2026-11-30", severity="warning")
            return
        db = app.read_side.queries.db

        def fetch() -> tuple[str, list[dict]]:
            who = (session.username, session.actor)
            if mode == "break_glass":
                return "break-glass uses not reviewed", service.unreviewed_break_glass(
                    *who, interface="tui"
                )
            if not subject:
                raise InvalidCommand([(str(mode), "type a case number or an officer's username")])
            if mode == "officer":
                return f"what {subject} viewed", service.viewed_by(
                    *who, subject, since, until, interface="tui"
                )
            try:
                migrant_id = resolve(db, KINDS["migrant_id"], subject)
            except ReferenceNotFound as error:
                raise InvalidCommand([("case", str(error))]) from None
            return f"who viewed {subject}", service.who_viewed(*who, migrant_id, interface="tui")

        app.call(fetch, then=self._show, group="access")

    def _show(self, loaded: tuple[str, list[dict]]) -> None:
        title, entries = loaded
        table = self.query_one("#entries", DataTable)
        table.clear()
        self.mode_shown = "break_glass" if title.startswith("break-glass") else "log"
        if self.mode_shown == "break_glass":
            self._show_waiting(title, entries)
            return
        zone = self.app.zone.tz
        for e in entries:
            record = f"{e['subject_kind']} {e['subject_id'][:13]}" if e["subject_id"] else "-"
            table.add_row(
                *literals(
                    str(e["seq"]),
                    shown(e["recorded_at"], zone, "second"),
                    e["username"],
                    (e["role"] or "-").replace("_", " "),
                    e["action"].replace("_", " "),
                    record,
                    e["reason"] or "-",
                    e["detail"] or "",
                )
            )
        self.query_one("#access-info", Static).update(Text(f"{title}: {len(entries)} entries"))

    def action_verify(self) -> None:
        app: Any = self.app
        session = app.session

        def verify() -> Any:
            return app.system.access_log.verify(session.username, session.actor, interface="tui")

        def show(result: Any) -> None:
            if result.ok:
                text = (
                    f"The chain holds: {result.checked:,} entries checked, "
                    f"head at position {result.head_seq}"
                )
            else:
                text = "The chain is BROKEN: " + "; ".join(str(f) for f in result.findings)
            self.query_one("#access-info", Static).update(Text(text))
            app.notify(text, severity="information" if result.ok else "error")

        app.call(verify, then=show, group="access")

    # -- break-glass waiting for a review -------------------------------------

    def _show_waiting(self, title: str, uses: list[dict]) -> None:
        table = self.query_one("#entries", DataTable)
        zone = self.app.zone.tz
        for use in uses:
            table.add_row(
                *literals(
                    use["grant_id"][:8],
                    shown(use["given_at"], zone, "second"),
                    use["username"],
                    (use["given_by_role"] or "-").replace("_", " "),
                    "break glass, waiting for " + " and ".join(use["waiting_for"]),
                    f"case {use['case_number'] or use['migrant_id'][:13]}",
                    use["reason"],
                    f"until {shown(use['expires_at'], zone)}",
                ),
                key=use["grant_id"],
            )
        self._waiting = {use["grant_id"]: use for use in uses}
        hint = "; Enter or F6 reviews the selected one" if uses else ""
        self.query_one("#access-info", Static).update(Text(f"{title}: {len(uses)} uses{hint}"))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.mode_shown == "break_glass":
            self.action_review()

    def action_review(self) -> None:
        """Review the selected break-glass use: its finding and a note, in the
        review form (the service checks the role and that it is not one's own)."""
        from tui.app.catalogue import BY_KEY
        from tui.app.screens.actions import FormScreen

        app: Any = self.app
        table = self.query_one("#entries", DataTable)
        if self.mode_shown != "break_glass" or table.row_count == 0:
            app.notify("List the break-glass uses not reviewed first", severity="warning")
            return
        if app.session.role not in REVIEWERS:
            app.notify("Only supervisors and auditors review break-glass uses", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        use = self._waiting[key]
        context = (
            f"Break-glass by {use['username']} on case {use['case_number']} at "
            f"{shown(use['given_at'], app.zone.tz)} {app.zone.name}: {use['reason']}"
        )
        form = FormScreen(
            BY_KEY["case.review_break_glass"], fixed={"grant_id": UUID(key)}, context=context
        )
        app.push_screen(form, self._reviewed)

    def _reviewed(self, result: Any) -> None:
        if result is not None:  # saved: the list no longer holds it
            self.action_run()
