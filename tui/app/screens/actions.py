"""Opening a lifecycle command as a form, and submitting it in a worker."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Static

from domain.errors import InvalidCommand, MsafiriError
from projections.references import KINDS, resolve
from tui.app.catalogue import PRESETS, Action, submit
from tui.app.forms import CommandForm
from tui.app.guard import explain
from tui.app.open_items import PICKERS, Choice


class ConfirmDiscard(ModalScreen[bool]):
    """Asked when Esc would throw away what the officer typed."""

    DEFAULT_CSS = """
    ConfirmDiscard { align: center middle; }
    ConfirmDiscard > Vertical { width: 60; height: auto; }
    ConfirmDiscard Horizontal { height: auto; }
    ConfirmDiscard Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("escape,n", "dismiss(False)", "Keep editing", id="discard.keep"),
        Binding("y,d", "dismiss(True)", "Discard", id="discard.discard"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="card"):
            yield Static("Discard this form?", classes="card-title")
            yield Static("What you typed is not saved. y: discard, n or Esc: keep editing.")
            with Horizontal():
                yield Button("Keep editing", id="keep", variant="primary")
                yield Button("Discard", id="discard", variant="error")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "discard")


class FormScreen(Screen):
    """One command's form. Dismisses with the service's result when saved."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(
        self,
        action: Action,
        fixed: dict[str, Any] | None = None,
        initial: dict[str, Any] | None = None,
        context: str = "",
        choices: dict[str, list[Any]] | None = None,
        currency: str = "",
    ):
        super().__init__()
        self.action = action
        self.fixed = fixed or {}
        self.initial = initial or {}
        self.context = context
        self.choices = choices or {}
        self.currency = currency

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form-page"):
            yield Static(self.action.title, id="form-title", classes="card-title")
            if self.context:
                # The case line is data (a name): shown as typed, never as markup.
                yield Static(Text(self.context), id="form-context", classes="card-help")
            yield CommandForm(
                self.action.command,
                fixed=self.fixed,
                initial=self.initial,
                choices=self.choices,
                currency=self.currency,
                references=self.reference,
                id="form",
            )
        yield Footer()

    def reference(self, field: str, text: str) -> str:
        """The id that a username, a case number or an id's first characters
        name, as the CLI takes them (projections/references.py)."""
        if field not in KINDS:
            return text
        app: Any = self.app
        return resolve(app.read_side.queries.db, KINDS[field], text)

    def on_mount(self) -> None:
        # The first field has the focus, and the page stays at its top: the
        # title and the case it acts on come first (focusing would centre
        # the field and scroll them away).
        first = next((w for w in self.query("#form *") if w.focusable), None)
        if first is not None:
            self.set_focus(first, scroll_visible=False)

    def action_cancel(self) -> None:
        if not self.query_one(CommandForm).changed:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmDiscard(), answered)

    def set_currency(self, currency: str) -> None:
        """The currency of the record acted on, known once it has been read."""
        self.currency = currency
        forms = self.query(CommandForm)
        if forms:
            forms.first().set_currency(currency)

    def action_save(self) -> None:
        self.query_one(CommandForm).submit()

    def on_command_form_submitted(self, event: CommandForm.Submitted) -> None:
        app: Any = self.app
        system, actor, command = app.system, app.actor, event.command
        read_side = app.read_side
        session = getattr(app, "session", None)
        who = {
            "username": session.username if session is not None else None,
            "connection": getattr(app, "connection", "terminal"),
        }

        def send():
            try:
                result = submit(system, actor, command, **who)
            except MsafiriError as error:
                return error
            # Show the officer what they just did, without waiting for a poll.
            read_side.catch_up()
            return result

        def done(result: Any) -> None:
            if isinstance(result, MsafiriError):
                self.refused(event.form, result)
                return
            if isinstance(result, dict) and result.get("status") == "proposed":
                # Money out of the fund: recorded, posted only once approved.
                app.notify(
                    f"{self.action.title}: proposed; another fund officer must approve it "
                    f"(proposal {result.get('proposal_id')})",
                    title="Proposed",
                )
            else:
                app.notify(f"{self.action.title}: saved", title="Saved")
            self.dismiss(result)

        app.call(send, then=done, group="write", exclusive=True)

    def refused(self, form: CommandForm, error: MsafiriError) -> None:
        """Nothing was stored: say why, keep the form for a correction."""
        if isinstance(error, InvalidCommand):
            form.show_errors(error.errors)
        else:
            title, message = explain(error)
            self.app.notify(message, title=title, severity="error", timeout=10)
            form.show_errors([("(form)", message)])
        # A fund command's id now names this refusal (a retry gets the same
        # answer); the corrected command is a new one.
        if "command_id" in form.fixed:
            form.fixed["command_id"] = uuid4()


# Contract steps that name an employer: it is chosen from the registry first.
EMPLOYER_PICKS = ("case.contract", "case.employer")


def open_action(
    app: Any,
    action: Action,
    migrant_id: UUID | None = None,
    incident_id: UUID | None = None,
    context: str = "",
    initial: dict[str, Any] | None = None,
    on_done: Any = None,
) -> None:
    """Open the form for an action; case and incident commands need the
    case (or incident) they act on, taken from the screen the officer is on."""
    screen = app.screen
    migrant_id = migrant_id or getattr(screen, "migrant_id", None)
    incident_id = incident_id or getattr(screen, "incident_id", None)
    fixed: dict[str, Any] = {}
    if "command_id" in action.command.model_fields:
        # One id per form opened: a retry of the same submission is idempotent.
        fixed["command_id"] = uuid4()
    if action.target == "case":
        if migrant_id is None:
            app.notify("Open a case first (search, then Enter)", title=action.title)
            return
        fixed["migrant_id"] = migrant_id
    elif action.target == "incident":
        if incident_id is None:
            app.notify("Select an incident of the open case first", title=action.title)
            return
        fixed["incident_id"] = incident_id
    elif action.target != "new":
        target_id = getattr(screen, f"{action.target}_id", None)
        if target_id is None:
            app.notify(f"Select a {action.target} first", title=action.title)
            return
        fixed[f"{action.target}_id"] = target_id
    if action.target != "new":
        context = context or getattr(screen, "context_line", "")
    initial = {**PRESETS.get(action.key, {}), **(initial or {})}
    if action.target == "case" and "incident_id" in action.command.model_fields:
        initial.setdefault("incident_id", incident_id)
    if on_done is None:
        on_done = getattr(screen, "after_action", None)
    if action.key in EMPLOYER_PICKS and "employer_id" not in fixed:
        # Registered employers first (issue 16): a similar name in the
        # destination is offered, so no duplicate is typed in.
        from tui.app.screens.employer_search import EmployerSearchScreen

        country = getattr(getattr(screen, "detail", None), "destination", "") or ""

        def chosen(row: Any) -> None:
            more = {**fixed}
            line = context
            if row is not None:
                more["employer_id"] = UUID(row.party_id)
                status = row.watchlist.replace("_", " ")
                line = f"{context}\nEmployer: {row.name} ({row.city}, {row.country}) · {status}"
            app.push_screen(FormScreen(action, more, initial, line.strip()), on_done)

        app.push_screen(EmployerSearchScreen(pick=True, country=country), chosen)
        return
    if "officer_id" in action.command.model_fields and "officer_id" not in fixed:
        # Officers are chosen by name, never typed as an id.
        officers = [
            Choice(UUID(o.officer_id), f"{o.full_name} ({o.username})")
            for o in app.read_side.queries.officers()
            if o.active
        ]
        app.push_screen(
            FormScreen(action, fixed, initial, context, choices={"officer_id": officers}), on_done
        )
        return
    if action.key not in PICKERS:
        form = FormScreen(action, fixed, initial, context)
        app.push_screen(form, on_done)
        if action.target == "disbursement" and "amount_minor" in action.command.model_fields:
            # A part approval or payment is typed in the request's own currency.
            def known(row: Any) -> None:
                if row is not None:
                    form.set_currency(row.currency)

            disbursement_id = str(fixed["disbursement_id"])
            queries, viewer = app.read_side.queries, app.viewer
            app.call(lambda: queries.get_disbursement(disbursement_id, viewer=viewer), then=known)
        return
    # The id to give is one of the case's (or incident's) open records: offer them.
    name, what, load, owner = PICKERS[action.key]

    def offer(choices: list[Any]) -> None:
        if not choices:
            app.notify(f"There is no {what} to act on", title=action.title, severity="warning")
            return
        form = FormScreen(action, fixed, initial, context, choices={name: choices})
        app.push_screen(form, on_done)

    app.call(load, app.system.store, fixed[owner], then=offer, group="form-choices")
