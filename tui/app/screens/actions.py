"""Opening a lifecycle command as a form, and submitting it in a worker."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from domain.errors import InvalidCommand, MsafiriError
from tui.app.catalogue import PRESETS, Action, submit
from tui.app.forms import CommandForm
from tui.app.guard import explain
from tui.app.open_items import PICKERS


class FormScreen(Screen):
    """One command's form. Dismisses with the service's result when saved."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(
        self,
        action: Action,
        fixed: dict[str, Any] | None = None,
        initial: dict[str, Any] | None = None,
        context: str = "",
        choices: dict[str, list[Any]] | None = None,
    ):
        super().__init__()
        self.action = action
        self.fixed = fixed or {}
        self.initial = initial or {}
        self.context = context
        self.choices = choices or {}

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form-page"):
            yield Static(self.action.title, classes="card-title")
            if self.context:
                yield Static(self.context, classes="card-help")
            yield CommandForm(
                self.action.command,
                fixed=self.fixed,
                initial=self.initial,
                choices=self.choices,
                id="form",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        self.query_one(CommandForm).submit()

    def on_command_form_submitted(self, event: CommandForm.Submitted) -> None:
        app: Any = self.app
        system, actor, command = app.system, app.actor, event.command
        read_side = app.read_side

        def send():
            try:
                result = submit(system, actor, command)
            except MsafiriError as error:
                return error
            # Show the officer what they just did, without waiting for a poll.
            read_side.catch_up()
            return result

        def done(result: Any) -> None:
            if isinstance(result, MsafiriError):
                self.refused(event.form, result)
                return
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
    if action.key not in PICKERS:
        app.push_screen(FormScreen(action, fixed, initial, context), on_done)
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
