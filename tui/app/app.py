"""MsafiriApp: the shell every screen lives in.

It holds the built System (from msafiri.bootstrap), the signed-in Session, the
read side, and the one helper every write and slow read goes through:
`call()` runs a blocking call in a worker thread (eventsourcing is sync) and
reports refusals as notifications.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerFailed

from domain.values import Role, utcnow
from domain.viewer import Viewer
from msafiri.bootstrap import System
from msafiri.settings import officer_connection
from msafiri.zones import officer_zone
from tui.app.catalogue import actions_for
from tui.app.guard import explain, write_crash_log
from tui.app.live import LiveUpdates
from tui.app.readside import ReadSide
from tui.app.session import Session

# How often the screen looks for moved read models: often without NATS, and
# slowly as a safety net while NATS notifications drive the refreshes.
POLL_SECONDS = 1.0
POLL_SECONDS_WITH_NATS = 15.0
# How often an idle session is looked for (the limit itself is a setting).
IDLE_CHECK_SECONDS = 10.0
# What counts as the officer being there.
_ACTIVITY = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


class MsafiriApp(App[None]):
    TITLE = "Msafiri"
    SUB_TITLE = "migrant welfare records"
    CSS_PATH = "msafiri.tcss"
    BINDINGS = [
        Binding("ctrl+t", "toggle_dark", "Light/dark", id="app.theme"),
        Binding("f2", "status", "Status", id="app.status"),
        Binding("f3", "statistics", "Statistics", id="app.statistics"),
        Binding("ctrl+l", "sign_out", "Sign out", id="app.sign_out", show=False),
        Binding("f4", "access_log", "Access log", id="app.access_log", show=False),
    ]

    def __init__(
        self,
        system: System,
        *,
        blink: bool = True,
        follow: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ):
        """`follow`: keep the read models current in a background thread and
        refresh the screen when they move (tests turn it off and catch up
        explicitly, so every step is deterministic). `clock`: what "now" is
        for screens that show relative times (snapshots fix it)."""
        super().__init__()
        self.system = system
        self.blink = blink
        self.clock = clock
        self.session: Session | None = None
        self.read_side = ReadSide(system, follow=follow)
        self._seen_position = -1
        self._poll: Any = None
        self.live = LiveUpdates(self)
        # Exports go to MSAFIRI_EXPORTS_DIR (default: the exports folder beside
        # the user's data), never silently into whatever folder the app started in.
        self.export_dir = system.settings.exports_dir
        self._crash: BaseException | None = None
        # Idle sign-out (MSAFIRI_TUI_IDLE_SIGN_OUT_MINUTES), timed by `clock`
        # so tests move time instead of waiting.
        self.idle_limit = timedelta(minutes=system.settings.tui_idle_sign_out_minutes)
        self.last_activity = clock()
        # Terminal, SSH or browser (`msafiri serve`): for the status screen,
        # the access log, and where an export goes.
        self.connection, self.connection_from = officer_connection(system.settings)
        # The officer's zone (msafiri/zones.py): forms read typed times in it
        # and screens show stored instants in it, naming it.
        self.zone = officer_zone(system.settings)

    # -- start-up and sessions ----------------------------------------------

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        if self.read_side.follow:
            self.read_side.start()
            self._poll = self.set_interval(POLL_SECONDS, self._watch_read_models)
        self.live.start()
        self.set_interval(IDLE_CHECK_SECONDS, self.sign_out_if_idle)
        from tui.app.screens.first_run import FirstRunScreen
        from tui.app.screens.sign_in import SignInScreen

        if self.system.officers.is_installed():
            self.push_screen(SignInScreen())
        else:
            self.push_screen(FirstRunScreen())

    def begin_session(self, session: Session) -> None:
        from tui.app.screens.home import home_screen_for

        self.session = session
        self.sub_title = session.label
        self.switch_screen(home_screen_for(session.role))
        self.notify(f"Signed in as {session.label}", title="Welcome")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _ACTIVITY):
            self.last_activity = self.clock()
        await super().on_event(event)

    def sign_out_if_idle(self) -> None:
        """Sign the officer out once nothing was typed or clicked for the limit.
        In a browser, a tab idle that long (signed out, or never signed in)
        then ends: it holds one of `msafiri serve`'s few app processes."""
        idle = self.clock() - self.last_activity >= self.idle_limit
        if idle and self.session is None and self.connection == "browser":
            self.exit()
            return
        if self.session is not None and idle:
            minutes = round(self.idle_limit.total_seconds() / 60)
            self.action_sign_out(reason="idle")
            self.notify(f"Signed out after {minutes} minutes without activity", title="Signed out")

    def action_change_password(self) -> None:
        from tui.app.screens.change_password import ChangePasswordScreen

        if self.session is not None and not isinstance(self.screen, ChangePasswordScreen):
            self.push_screen(ChangePasswordScreen(self.session.username))

    def action_sign_out(self, reason: str = "by-officer") -> None:
        from tui.app.screens.sign_in import SignInScreen

        if self.session is None:
            return
        session = self.session
        self.call(
            self.system.officers.signed_out,
            session.officer_id,
            session.username,
            session.role,
            reason,
            "tui",
            self.connection,
            group="sign-out",
        )
        self.session = None
        self.sub_title = "migrant welfare records"
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(SignInScreen())

    @property
    def actor(self):
        if self.session is None:
            raise RuntimeError("no officer is signed in")
        return self.session.actor

    @property
    def viewer(self) -> Viewer:
        """Who reads, for need-to-know: every read of a case passes it
        (projections/disclosure.py masks what they may not see)."""
        return Viewer.of(self.actor)

    def on_unmount(self) -> None:
        if self.session is not None:  # quitting signs out too
            try:
                self.system.officers.signed_out(
                    self.session.officer_id,
                    self.session.username,
                    self.session.role,
                    "quit",
                    "tui",
                    self.connection,
                )
            except Exception as error:  # the app is closing: one line, no traceback
                write_crash_log(error)
        self.live.close()
        self.read_side.close()

    def live_started(self) -> None:
        """NATS notifications drive the refreshes now: poll only as a safety net."""
        if self._poll is not None:
            self._poll.stop()
            self._poll = self.set_interval(POLL_SECONDS_WITH_NATS, self._watch_read_models)

    def note_position(self, position: int) -> None:
        """The screen was refreshed for the read models at `position`."""
        self._seen_position = max(self._seen_position, position)

    def _watch_read_models(self) -> None:
        """Refresh the screen when the read models move (someone wrote)."""

        def moved(position: int) -> None:
            if position >= 0 and position != self._seen_position:
                first = self._seen_position < 0
                self._seen_position = position
                refresh = getattr(self.screen, "refresh_data", None)
                if refresh is not None and not first:
                    refresh()

        self.call(self.read_side.position, then=moved, group="watch", exclusive=True)

    def notify(self, message: str, *, markup: bool = False, **kwargs: Any) -> None:
        """A toast. Messages carry data (names, refusals that quote what was
        typed): shown literally unless a caller asks for markup."""
        super().notify(message, markup=markup, **kwargs)

    # -- background work -------------------------------------------------------

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        then: Callable[[Any], Any] | None = None,
        group: str = "db",
        exclusive: bool = False,
    ) -> Worker:
        """Run a blocking call in a worker thread; hand its result to `then`
        on the UI thread. A refusal is reported by the guard below."""

        def job() -> Any:
            result = fn(*args)
            if then is not None:
                self.call_from_thread(then, result)
            return result

        return self.run_worker(job, thread=True, group=group, exclusive=exclusive)

    # -- the global guard ------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        # A failed worker leaves every widget running: report it and carry on.
        if isinstance(error, WorkerFailed):
            title, message = explain(error.error)
            self.notify(message, title=title, severity="error", timeout=8)
            if title == "Unexpected error":
                write_crash_log(error.error)
            return
        # Anything else broke a widget's message loop: stop with one line.
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        error = self._crash
        if error is None:
            return super()._fatal_error()
        path = write_crash_log(error)
        _title, message = explain(error)
        where = f" (details in {path})" if path else ""
        self.bell()
        self._exit_renderables.append(Text(f"Msafiri stopped: {message}{where}"))
        self._close_messages_no_wait()

    # -- shell actions -----------------------------------------------------------

    def action_status(self) -> None:
        from tui.app.screens.status import StatusScreen

        if not isinstance(self.screen, StatusScreen):
            self.push_screen(StatusScreen())

    def action_statistics(self) -> None:
        from tui.app.screens.statistics import StatisticsScreen

        if self.session is not None and not isinstance(self.screen, StatisticsScreen):
            self.push_screen(StatisticsScreen())

    def action_case_search(self) -> None:
        from tui.app.screens.case_search import CaseSearchScreen

        if self.session is not None and not isinstance(self.screen, CaseSearchScreen):
            self.push_screen(CaseSearchScreen())

    def action_employers(self) -> None:
        from tui.app.screens.employer_search import EmployerSearchScreen

        if self.session is not None:
            self.push_screen(EmployerSearchScreen())

    def action_who_did_what(self) -> None:
        from tui.app.screens.audit import WhoDidWhatScreen

        if self.session is not None and not isinstance(self.screen, WhoDidWhatScreen):
            self.push_screen(WhoDidWhatScreen())

    def action_fund_replay(self) -> None:
        from tui.app.screens.fund_replay import FundReplayScreen

        if self.session is not None and not isinstance(self.screen, FundReplayScreen):
            self.push_screen(FundReplayScreen())

    def action_access_log(self) -> None:
        from domain.officers.access import LOG_READERS
        from tui.app.screens.access_log import AccessLogScreen

        if self.session is None or isinstance(self.screen, AccessLogScreen):
            return
        if self.session.role not in LOG_READERS:
            self.notify(
                "Only auditors, supervisors and the data protection officer read the access log",
                severity="warning",
            )
            return
        self.push_screen(AccessLogScreen())

    def export_journal(self, fmt: str) -> None:
        from domain.officers.access import EXPORT
        from tui.app.exports import export_journal
        from tui.app.reads import log_read

        log_read(self, EXPORT, subject_kind="fund", detail=f"journal ({fmt}) to {self.export_dir}")

        def done(path: Path) -> None:
            self.notify(f"Wrote the journal to {path}", title="Exported")
            self.offer_download(path)

        self.call(export_journal, self.system, self.export_dir, fmt, then=done, group="export")

    def offer_download(self, path: Path) -> None:
        """An export written on the server is out of a browser user's reach:
        hand that file (the app's own choice, never a path a request names)
        to the browser as a download; `msafiri serve` only forwards it."""
        if self.connection == "browser":
            self.deliver_binary(path)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("app: status", "Database, NATS and projection lag", self.action_status)
        yield SystemCommand(
            "app: light/dark", "Toggle the light and dark themes", self.action_toggle_dark
        )
        if self.session is not None:
            yield SystemCommand("app: sign out", "End this officer's session", self.action_sign_out)
            yield SystemCommand(
                "officer: change my password",
                "Choose a new password (your current one is asked for)",
                self.action_change_password,
            )
            yield SystemCommand("case: search", "Find a case as you type", self.action_case_search)
            from domain.employers.service import HISTORY_READERS

            if self.session.role in HISTORY_READERS:
                yield SystemCommand(
                    "employer: search and history",
                    "Employers and agencies: placements, incidents, watchlist",
                    self.action_employers,
                )
            yield SystemCommand(
                "report: statistics", "Gender-disaggregated figures", self.action_statistics
            )
            if self.session.role in (Role.AUDITOR, Role.ADMINISTRATOR):
                yield SystemCommand(
                    "audit: who did what", "Every event by officer", self.action_who_did_what
                )
            if self.session.role in (Role.AUDITOR, Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER):
                yield SystemCommand(
                    "audit: access log",
                    "Who read which case, and the chain (F4)",
                    self.action_access_log,
                )
            if self.session.role in (Role.AUDITOR, Role.FUND_OFFICER, Role.ADMINISTRATOR):
                yield SystemCommand(
                    "audit: replay the fund",
                    "Step through the book's events, for the fund or one account",
                    self.action_fund_replay,
                )
                for fmt in ("beancount", "csv"):
                    yield SystemCommand(
                        f"audit: export journal ({fmt})",
                        f"Write the fund's journal as {fmt} to {self.export_dir}",
                        lambda fmt=fmt: self.export_journal(fmt),
                    )
            export = getattr(screen, "action_export", None)
            if export is not None:
                yield SystemCommand(
                    "audit: export this case", "JSON Lines, for the migrant", export
                )
            replay = getattr(screen, "action_replay", None)
            if replay is not None:
                yield SystemCommand("audit: replay this case", "Step through its history", replay)
            from tui.app.screens.actions import open_action

            for action in actions_for(self.session.role):
                yield SystemCommand(
                    action.title, action.help, lambda action=action: open_action(self, action)
                )
        yield from super().get_system_commands(screen)
