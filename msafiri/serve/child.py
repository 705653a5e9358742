"""The one command `msafiri serve` runs for each browser connection:
`python -m msafiri.serve.child PARENT_PID`. It asks Linux to end it when the
server dies (even by SIGKILL, which leaves the server no time to clean up),
then opens the terminal UI exactly as `msafiri` with no arguments does."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """SIGTERM this process when the process that started it exits. The
    parent may already be gone between fork and this call: then no signal
    would ever come, so leave now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        sys.exit(1)


def main() -> None:
    die_with_parent(int(sys.argv[1]))
    from msafiri.cli.main import main as msafiri_main

    msafiri_main([])  # the TUI; nothing of the request reaches the command line


if __name__ == "__main__":
    main()
