"""`msafiri demo` builds migrants in worker processes: they end with it, even
when it is SIGKILLed (no cleanup runs then). A killed demo used to leave its
workers waiting on their queue for ever."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            found.update(int(c) for c in (task / "children").read_text().split())
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not reaped it


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_killed_demo_leaves_no_worker_behind(tmp_path):
    env = dict(os.environ, MSAFIRI_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    demo = subprocess.Popen(
        [sys.executable, "-m", "msafiri.cli.main", "demo", "--migrants", "50000", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The worker pool is up once the demo has children that run Python
        # (the workers and multiprocessing's resource tracker).
        assert wait_for(lambda: len(children(demo.pid)) >= 2 or demo.poll() is not None, 60)
        assert demo.poll() is None, "the demo ended before its workers could be seen"
        workers = children(demo.pid)
        demo.send_signal(signal.SIGKILL)
        demo.wait(10)
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 20), [
            pid for pid in workers if alive(pid)
        ]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
