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
        app: Any = self.app
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
                zone=app.zone,  # the officer's, as every screen shows times in
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


# Contract steps that name registered parties: each is chosen from its
# registry by name, in this order, before the form opens (issue 16); the
# form carries the ids, never shows them as fields to type. Esc on a picker
# goes on without one: a free-text employer name, or no agency.
PARTY_PICKS: dict[str, tuple[str, ...]] = {
    "case.contract": ("employer", "agency"),
    "case.employer": ("employer",),
    "case.link_parties": ("employer", "agency"),
}
# Steps that keep the contract's registered parties, which the domain checks
# again (a watchlisted employer, an agency licence no longer valid): shown on
# the context line, with the warning, before the officer saves.
KEPT_PARTIES: dict[str, tuple[str, ...]] = {
    "case.renew": ("employer", "agency"),
    "case.employer": ("agency",),
}
# The free-text name a registered record stands in for (the service writes
# the registry's name there).
FREE_TEXT = {"employer": "employer_name", "agency": "recruitment_agency"}


def pick_parties(
    app: Any,
    action: Action,
    fixed: dict[str, Any],
    initial: dict[str, Any],
    context: str,
    on_done: Any,
) -> None:
    """Choose the step's employer and agency from the registries, one
    picker after the other, then open its form with their ids fixed and
    their names, watchlist and licence on the context line."""
    from tui.app.screens.employer_search import EmployerSearchScreen, party_line

    detail = getattr(app.screen, "detail", None)
    destination = getattr(detail, "destination", "") or ""
    linked = {kind: getattr(detail, f"{kind}_id", None) for kind in FREE_TEXT}
    fields = action.command.model_fields
    picks = list(PARTY_PICKS.get(action.key, ()))
    kept = [kind for kind in KEPT_PARTIES.get(action.key, ()) if linked[kind]]
    more = dict(fixed)
    if action.key == "case.link_parties":
        if detail is not None and not destination:
            app.notify("This case has no contract to link", title=action.title)
            return
        # Only what the contract does not name yet can be linked.
        kept = [kind for kind in picks if linked[kind]]
        picks = [kind for kind in picks if not linked[kind]]
        if not picks:
            app.notify("The contract is linked to its employer and agency", title=action.title)
            return
        more |= {f"{kind}_id": None for kind in kept}
    lines = [context] if context else []

    def open_form() -> None:
        if action.key == "case.link_parties" and not any(
            more.get(f"{kind}_id") for kind in FREE_TEXT
        ):
            app.notify("Nothing chosen: nothing to link", title=action.title)
            return
        app.push_screen(FormScreen(action, more, initial, "\n".join(lines)), on_done)

    def show_kept(rows: list[Any]) -> None:
        lines.extend(party_line(row) for row in rows if row is not None)
        open_form()

    def then_kept() -> None:
        if not kept:
            open_form()
            return
        queries = app.read_side.queries
        ids = [str(linked[kind]) for kind in kept]
        app.call(lambda: [queries.get_party(i) for i in ids], then=show_kept, group="form-choices")

    def pick(index: int) -> None:
        if index == len(picks):
            then_kept()
            return
        kind = picks[index]

        def chosen(row: Any) -> None:
            # Skipped: the id is not typed either (None hides its field).
            more[f"{kind}_id"] = UUID(row.party_id) if row is not None else None
            if row is not None:
                if FREE_TEXT[kind] in fields:
                    more[FREE_TEXT[kind]] = None
                lines.append(party_line(row))
            pick(index + 1)

        # An employer is looked for in the destination; an agency where it
        # is licensed (the picker's default).
        country = destination if kind == "employer" else ""
        app.push_screen(EmployerSearchScreen(pick=True, country=country, party_kind=kind), chosen)

    pick(0)


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
    if action.key in PARTY_PICKS or action.key in KEPT_PARTIES:
        # Registered employers and agencies are chosen by name (issue 16): a
        # similar name is offered, so no duplicate is typed in.
        pick_parties(app, action, fixed, initial, context, on_done)
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

    app.call(load, app.system.store, fixed[owner], app.zone.tz, then=offer, group="form-choices")
