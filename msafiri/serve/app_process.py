"""One browser connection's app process: textual-serve's AppService with a
fixed command run without a shell, in a process group of its own, and an
environment that tells the app it is served to a browser."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from textual_serve.app_service import AppService

# What the server's own environment may hold that must not reach an app
# process: the CLI twin's officer and password (the browser user signs in
# themselves) and the SSH session the server may have been started from.
_NOT_PASSED_ON = (
    "MSAFIRI_OFFICER",
    "MSAFIRI_ROLE",
    "MSAFIRI_OFFICER_PASSWORD",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "SSH_TTY",
)
# How long a process that was told to quit gets before it is terminated,
# and how long after SIGTERM before SIGKILL.
QUIT_GRACE_SECONDS = 5.0
TERM_GRACE_SECONDS = 3.0


def app_command() -> list[str]:
    """Fixed: this interpreter runs the child module, which opens the TUI."""
    return [sys.executable, "-m", "msafiri.serve.child", str(os.getpid())]


class BrowserAppProcess(AppService):
    def __init__(self, *args, client_address: str, **kwargs) -> None:
        super().__init__(" ".join(app_command()), *args, **kwargs)
        self.client_address = client_address

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        for name in _NOT_PASSED_ON:
            environment.pop(name, None)
        environment["MSAFIRI_CONNECTION"] = "browser"
        environment["MSAFIRI_CONNECTION_FROM"] = self.client_address
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24):
        # Not create_subprocess_shell with a string, as textual-serve does:
        # no shell ever sees anything, and the argv is fixed.
        self._process = process = await asyncio.create_subprocess_exec(
            *app_command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,  # its own process group: stop() ends all of it
        )
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def stop(self) -> None:
        """Ask the app to quit, and make sure its whole process group is gone
        whatever it does: a closed tab must never leave a process behind."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(super().stop(), QUIT_GRACE_SECONDS)
        self._task = None  # stopped, or given up on: never awaited again
        process = self._process
        if process is None:
            return
        steps = ((None, QUIT_GRACE_SECONDS), (signal.SIGTERM, TERM_GRACE_SECONDS))
        for sig, grace in (*steps, (signal.SIGKILL, None)):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
                return
            except TimeoutError:
                continue

    async def run(self) -> None:
        await super().run()
        # The app ended (the officer quit, or it could not start): the tab
        # has nothing left to show, and its slot is freed by closing it.
        with contextlib.suppress(Exception):
            await self.remote_close()
