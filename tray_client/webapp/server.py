"""The web app's HTTP driver: aiohttp on 127.0.0.1 and a free port, on a thread and event loop of its own.

Why aiohttp: a small, maintained asyncio HTTP server and client (HTTP/1.1, cookies, streaming responses for
the live meter) with wheels for win_amd64 and manylinux, so the Windows build needs no compiler; the tray's
other asyncio code (the pipeline) keeps its own loop, and a slow page never stalls dictation.

Thread: "webapp", started by `WebServer.start()` on first use (a tray never opened costs nothing), owns the
loop, the `WebApi` (and its history connection). `start()` and `stop()` are the only ways in; both are
thread-safe. Every request passes `guard.Guard` first (see guard.py for the rules); blocking work (the
server's health check) runs in the loop's default executor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web

from tray_client.webapp.api import ApiError, AppHooks, WebApi
from tray_client.webapp.audio_routes import add_audio_routes
from tray_client.webapp.guard import COOKIE, CSRF_HEADER, LOGIN_PATH, Guard

__all__ = ["WebServer"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
PAGES = ("settings", "history", "dictionary", "profiles", "stats")
START_TIMEOUT_S = 30.0
LEVEL_INTERVAL_S = 0.1
MAX_BODY = 1 << 20  # a config's lists fit many times over; a bigger body is refused (413)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json", headers={"Cache-Control": "no-store"})


def _day(value: str | None, *, end: bool = False) -> float | None:
    """`YYYY-MM-DD` from a date field as local midnight (the end of that day with `end`)."""
    if not value:
        return None
    try:
        start = datetime.fromisoformat(value).timestamp()
    except ValueError as error:
        raise ApiError(400, f"date {value!r}: use YYYY-MM-DD") from error
    return start + 86400.0 if end else start


class WebServer:
    """The loopback server for one run of the app (see the module doc)."""

    def __init__(self, hooks: AppHooks, port: int = 0) -> None:
        self._api = WebApi(hooks)
        self._port = port
        self._guard: Guard | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def guard(self) -> Guard:
        if self._guard is None:
            raise RuntimeError("the web app is not started")
        return self._guard

    def start(self) -> Guard:
        """Start once (later calls return at once); the guard knows the port and makes the login URL."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webapp", daemon=True)
                self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._error is not None:
            raise RuntimeError(f"the web app could not start: {self._error or 'timed out'}")
        return self.guard

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except BaseException as error:
            self._error = error
            self._ready.set()
            log.exception("the web app could not start")
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            self._api.close()
            loop.close()

    async def _listen(self) -> None:
        app = web.Application(middlewares=[self._check], client_max_size=MAX_BODY)
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)  # loopback only, never 0.0.0.0
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        port = sockets[0].getsockname()[1]
        self._guard = Guard(port)
        log.info("web app on http://127.0.0.1:%d", port)

    # --- the rules, then the routes -------------------------------------------------------------------------

    @web.middleware
    async def _check(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        guard = self.guard
        host = request.headers.get("Host")  # the header itself: aiohttp's request.host falls back to the socket
        if request.path == LOGIN_PATH:
            refused = guard.check_host(host) or guard.check_login(request.query.get("k"))
        else:
            refused = guard.check(request.method, host, request.headers.get("Origin"),
                                  request.cookies.get(COOKIE), request.headers.get(CSRF_HEADER))
        if refused is not None:
            log.warning("web app refused %s %s: %s", request.method, request.path, refused.reason)
            return web.Response(status=refused.status, text=refused.reason + "\n")
        try:
            return await handler(request)
        except ApiError as error:
            return _json({"error": str(error), "errors": error.errors}, error.status)
        except json.JSONDecodeError:
            return _json({"error": "the request body is not JSON"}, 400)

    def _routes(self, app: web.Application) -> None:
        api = self._api

        async def login(request: web.Request) -> web.Response:
            page = request.query.get("page", "")
            response = web.Response(status=303, headers={"Location": f"/#{page}" if page in PAGES else "/"})
            response.set_cookie(COOKIE, self.guard.session, httponly=True, samesite="Strict", path="/")
            return response

        async def index(_request: web.Request) -> web.Response:
            return web.Response(body=(STATIC / "index.html").read_bytes(), content_type="text/html",
                                headers={"Cache-Control": "no-store", "Content-Security-Policy":
                                         "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"})

        async def static(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            path = STATIC / name
            if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
                raise web.HTTPNotFound()
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return web.Response(body=path.read_bytes(), content_type=kind)

        async def session(request: web.Request) -> web.Response:
            return _json({"csrf": self.guard.csrf, "pages": list(PAGES)})

        async def body(request: web.Request) -> dict[str, object]:
            data = await request.json()
            if not isinstance(data, dict):
                raise ApiError(400, "the request body must be a JSON object")
            return data

        def filters(request: web.Request) -> dict[str, object]:
            query = request.query
            return {"search": query.get("q", ""), "app": query.get("app", ""), "since": _day(query.get("from")),
                    "until": _day(query.get("to"), end=True)}

        def row(request: web.Request) -> int:
            try:
                return int(request.match_info["id"])
            except ValueError as error:
                raise ApiError(400, "not a history entry id") from error

        async def export(request: web.Request) -> web.Response:
            download = api.export(request.match_info["fmt"], **filters(request))  # type: ignore[arg-type]
            return web.Response(text=download.body, headers={
                "Content-Type": download.content_type,
                "Content-Disposition": f'attachment; filename="{download.filename}"'})

        async def health(_request: web.Request) -> web.Response:
            return _json(await asyncio.get_running_loop().run_in_executor(None, api.health))

        def get(fn: Callable[[web.Request], object]) -> Handler:
            async def handler(request: web.Request) -> web.StreamResponse:
                return _json(fn(request))
            return handler

        def post(fn: Callable[[dict[str, object]], object]) -> Handler:
            async def handler(request: web.Request) -> web.StreamResponse:
                return _json(fn(await body(request)))
            return handler

        async def startup(_request: web.Request) -> web.Response:
            return _json(await asyncio.get_running_loop().run_in_executor(None, api.startup))

        async def level(request: web.Request) -> web.StreamResponse:
            """Server-sent events: the microphone's level ~10 times a second while the page listens."""
            if api.hooks.level is None:
                raise ApiError(409, "the level meter needs the tray app")
            device = request.query.get("device") or None
            loop = asyncio.get_running_loop()
            meter = await loop.run_in_executor(None, api.hooks.level, device)
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
            await response.prepare(request)
            try:
                while True:
                    event = {"level": round(meter.read(), 3), "error": meter.error}
                    await response.write(f"data: {json.dumps(event)}\n\n".encode())
                    await asyncio.sleep(LEVEL_INTERVAL_S)  # the meter's frame rate, not a wait for anything
            except (ConnectionResetError, asyncio.CancelledError):
                pass
            finally:
                await loop.run_in_executor(None, meter.close)
            return response

        app.router.add_get(LOGIN_PATH, login)
        app.router.add_get("/", index)
        app.router.add_get("/static/{name}", static)
        app.router.add_get("/api/session", session)
        app.router.add_get("/api/settings", get(lambda _r: api.settings()))
        app.router.add_post("/api/settings", post(api.save_settings))
        app.router.add_get("/api/dictionary", get(lambda _r: api.dictionary()))
        app.router.add_post("/api/dictionary", post(lambda v: api.save_page("dictionary", v)))
        app.router.add_get("/api/profiles", get(lambda _r: api.profiles()))
        app.router.add_post("/api/profiles", post(lambda v: api.save_page("profiles", v)))
        app.router.add_get("/api/history", get(lambda r: api.history(**filters(r))))  # type: ignore[arg-type]
        app.router.add_delete("/api/history/{id}", get(lambda r: api.delete(row(r))))
        app.router.add_post("/api/history/{id}/type", get(lambda r: api.type_again(row(r))))
        app.router.add_post("/api/type", post(api.type_heard))
        app.router.add_get("/api/export/{fmt}", export)
        app.router.add_get("/api/stats", get(lambda _r: api.stats()))
        app.router.add_get("/api/health", health)
        app.router.add_get("/api/startup", startup)
        app.router.add_post("/api/autostart", post(api.set_autostart))
        app.router.add_get("/api/level", level)
        add_audio_routes(app, api)
