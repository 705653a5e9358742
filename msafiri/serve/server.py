"""textual-serve's aiohttp server, bounded for Msafiri: the index page, one
websocket per tab, the app's own downloads and the bundled static assets —
nothing else. textual-serve itself has no authentication and no limits; the
app's sign-in is the gate, and this class adds the limits around it."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from textual_serve.server import Server

from msafiri.serve.app_process import BrowserAppProcess

log = logging.getLogger("msafiri.serve")

CAPACITY_TEXT = "Msafiri is at capacity, try again in a minute"
RATE_TEXT = "Too many connection attempts from your address, try again in a minute"
# A browser terminal of more cells than this is not a screen but an attack
# on the app's memory; textual-serve passes any size on.
MAX_COLUMNS, MAX_ROWS = 500, 200
MAX_MESSAGE_BYTES = 64 * 1024  # keystrokes and resizes are tiny
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",  # no other site may frame the sign-in screen
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


_THIRD_PARTY_FONT = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>\s*")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def _plain_page(status: int, text: str, **headers: str) -> web.Response:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Msafiri</title></head>"
        f"<body><p>{text}</p></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


def _bounded(value: str, default: int, highest: int) -> int:
    try:
        return max(1, min(int(value), highest))
    except ValueError:
        return default


class MsafiriServer(Server):
    def __init__(
        self,
        *,
        host: str,
        port: int,
        public_url: str | None,
        max_sessions: int,
        attempts_per_minute: int,
    ) -> None:
        super().__init__("msafiri", host=host, port=port, title="Msafiri", public_url=public_url)
        self.behind_proxy = public_url is not None
        self.max_sessions = max_sessions
        self.active = 0  # connections holding (or starting) an app process
        self.processes: set[BrowserAppProcess] = set()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = RateLimitItemPerMinute(attempts_per_minute)

    # -- the application: four routes and a guard ---------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_MESSAGE_BYTES)
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                # aiohttp's static route refuses any path that resolves
                # outside this folder; no listings, no symlinks out of it.
                web.static(
                    "/static",
                    self.statics_path,
                    show_index=False,
                    follow_symlinks=False,
                    name="static",
                ),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path in ("/", "/ws"):
            address = self.client_address(request)
            if not self._limiter.hit(self._rate, "attempt", address):
                log.warning("rate-limited %s", address)
                return _plain_page(429, RATE_TEXT, **{"Retry-After": "60"})
        try:
            response = await handler(request)
        except web.HTTPException as error:
            response = error
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def client_address(self, request: web.Request) -> str:
        """The browser's address: the peer's, or behind a proxy on this
        machine the one the proxy appended to X-Forwarded-For (the earlier
        entries are whatever the client claimed)."""
        remote = request.remote or "unknown"
        forwarded = request.headers.get("X-Forwarded-For")
        if self.behind_proxy and forwarded and is_loopback(remote):
            return forwarded.split(",")[-1].strip() or remote
        return remote

    @property
    def at_capacity(self) -> bool:
        return self.active >= self.max_sessions

    # -- pages ----------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.at_capacity:
            return _plain_page(503, CAPACITY_TEXT, **{"Retry-After": "60"})
        response = await super().handle_index(request)
        # The page would fetch a font from a third party, telling it each
        # officer's address; the terminal's bundled fonts do without.
        response.text = _THIRD_PARTY_FONT.sub("", response.text)
        return response

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        """Only what the app itself delivered (an export), under the
        single-use key the app chose; never a path from the request."""
        try:
            await self.download_manager.get_download_metadata(request.match_info["key"])
        except KeyError:
            raise web.HTTPNotFound(text="no such download") from None
        return await super().handle_download(request)

    def _same_origin(self, request: web.Request) -> bool:
        """A page of another site may not open app processes here (they
        would use up the capacity, even though each still needs a sign-in)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser
        netloc = urlsplit(origin).netloc
        return netloc in (request.host, urlsplit(self.public_url).netloc)

    # -- one websocket, one app process --------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._same_origin(request):
            raise web.HTTPForbidden(text="connections only from Msafiri's own page")
        if self.at_capacity:
            return _plain_page(503, CAPACITY_TEXT, **{"Retry-After": "60"})
        self.active += 1  # taken before any await: no two tabs get the last slot
        address = self.client_address(request)
        log.info("browser connected from %s (%d of %d)", address, self.active, self.max_sessions)
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE_BYTES)
        process: BrowserAppProcess | None = None
        try:
            await websocket.prepare(request)
            process = BrowserAppProcess(
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                client_address=address,
            )
            self.processes.add(process)
            width = _bounded(request.query.get("width", "80"), 80, MAX_COLUMNS)
            height = _bounded(request.query.get("height", "24"), 24, MAX_ROWS)
            await process.start(width, height)
            await self._process_messages(websocket, process)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one tab's trouble must not stop the server
            log.warning("connection from %s ended: %s", address, error)
        finally:
            if process is not None:
                await process.stop()
                self.processes.discard(process)
                log.info("app process %s ended (exit status %s)", process.pid, process.returncode)
            self.active -= 1
            log.info("browser from %s left (%d of %d)", address, self.active, self.max_sessions)
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: Any) -> None:
        """textual-serve's loop, with the terminal's size bounded and
        anything malformed ending the connection."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            envelope = message.json()
            if not isinstance(envelope, list) or not envelope:
                break
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    _bounded(str(data.get("width")), 80, MAX_COLUMNS),
                    _bounded(str(data.get("height")), 24, MAX_ROWS),
                )
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    # -- start and stop ---------------------------------------------------------

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(
            f"Msafiri for browsers on {self.public_url} "
            f"(at most {self.max_sessions} at once); Ctrl+C stops it",
            highlight=False,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        await asyncio.gather(*(process.stop() for process in list(self.processes)))
