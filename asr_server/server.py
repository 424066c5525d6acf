"""The network glue: a websockets server on one port for protocol v1 and GET /healthz.

Thin on purpose: the HTTP gate (health, auth, capacity) is `_gate`, each connection is a `Session` fed from
`_serve_connection`, and the model lives behind an `Engine` (engine/base.py): the local one (scheduler.py) or the
HTTP one (engine/dispatcher.py), chosen once in `start`. The loop never waits on inference.

Thread map: the asyncio loop (this module, sessions, streams, the HTTP engine) and, for the local engine, the
inference thread (scheduler.py, backends). They meet only in `InferenceWorker.submit` (loop -> thread) and
`call_soon_threadsafe` (thread -> loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from asr_server.auth import token_matches
from asr_server.backends import Backend, create_backend
from asr_server.budget import AddressBudget
from asr_server.config import ServerConfig
from asr_server.connection import Connection
from asr_server.engine.base import Engine, EngineInfo
from asr_server.engine.dispatcher import EngineDispatcher
from asr_server.errors import AsrServerError, ModelLoadError
from asr_server.http_upload import ConnectionLimits, RoutingConnection, routing_connection
from asr_server.metrics import CONTENT_TYPE, ServerMetrics
from asr_server.origin import OriginPolicy
from asr_server.scheduler import InferenceWorker
from asr_server.session import Session
from asr_server.transcriptions import TranscriptionEndpoint

log = logging.getLogger(__name__)

BackendFactory = Callable[[ServerConfig], Backend]

# Frames up to this size get an error message and the session goes on; beyond it websockets closes with 1009.
_TRANSPORT_LIMIT_FACTOR = 4
_TRANSPORT_LIMIT_MIN = 1 << 20
_OPEN_TIMEOUT = 10.0  # seconds for a WebSocket handshake (websockets' default)


class AsrServer:
    """Streaming Qwen3-ASR over WebSocket. `await start()` listens at once and loads the model in the background.

    `/healthz` answers 503 while the model loads and 200 after; WebSocket clients get 503 until then.
    """

    def __init__(self, config: ServerConfig, backend_factory: BackendFactory | None = None) -> None:
        self.config = config
        self._backend_factory = backend_factory
        self._worker: Engine | None = None
        self._server: Server | None = None
        self._engine: EngineInfo | None = None
        self._load_error: BaseException | None = None
        self._loaded = asyncio.Event()
        self._connections = 0  # sessions: WebSockets that sent a valid first message
        self._policy = OriginPolicy.build(config.host, config.allowed_hosts, config.allowed_origins)
        self._uploads: TranscriptionEndpoint | None = None
        self.metrics = ServerMetrics()
        self.metrics.watch(lambda: self._connections, self._engine_waiting, self._engine_up)

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port and start loading the model on the inference thread."""
        loop = asyncio.get_running_loop()
        if self._backend_factory is None and self.config.backend == "vllm":
            self._worker = EngineDispatcher(self.config, self._on_loaded, self.metrics)
        else:
            factory = self._backend_factory or create_backend
            self._worker = InferenceWorker(lambda: factory(self.config), loop,
                                           self.config.max_batch_size or self.config.max_sessions,
                                           self._on_loaded, self.config.max_partial_batch_size)
        self._worker.start()
        transport_limit = max(_TRANSPORT_LIMIT_MIN, _TRANSPORT_LIMIT_FACTOR * self.config.max_frame_bytes)
        uploads = TranscriptionEndpoint(self.config, lambda: self._engine, self._worker.submit, self._policy)
        self._uploads = uploads
        limits = ConnectionLimits(
            open_timeout=_OPEN_TIMEOUT, head_timeout=self.config.upload_head_timeout_seconds,
            body_timeout=self.config.upload_body_timeout_seconds,
            max_write_buffer=self.config.max_write_buffer_bytes,
            pending=AddressBudget(self.config.max_pending_per_ip))
        self._server = await serve(
            self._serve_connection, self.config.host, self.config.port,
            process_request=self._gate, max_size=transport_limit, compression=None,
            # Audio frames arrive ~30 per second; a deep queue only hides a stalled decoder.
            max_queue=64, logger=logging.getLogger("asr_server.websockets"),
            # POST /v1/audio/transcriptions shares the port; RoutingConnection applies the handshake timeout
            # itself, because websockets' own would also cut an upload still being transcribed.
            create_connection=routing_connection(uploads, limits), open_timeout=None,
        )
        log.info("listening on ws://%s:%d (model %s, backend %s)", self.config.host, self.port,
                 self.config.model, self.config.backend)

    async def wait_loaded(self) -> None:
        """Wait until the model is loaded; raise the loader's error (an AsrServerError says how to fix it)."""
        await self._loaded.wait()
        if self._load_error is not None:
            error = self._load_error
            if isinstance(error, AsrServerError):
                raise error
            raise ModelLoadError(f"loading the model failed: {type(error).__name__}: {error}") from error

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        assert self._server is not None, "call start() first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def loaded(self) -> bool:
        """True once the model is ready for sessions."""
        return self._engine is not None

    async def serve_forever(self) -> None:
        """Run until cancelled."""
        assert self._server is not None, "call start() first"
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening, close every connection, stop the inference thread."""
        if self._server is not None:
            log.info("shutting down: closing %d connection(s)", len(self._server.connections))
            self._server.close()
            try:
                await asyncio.wait_for(asyncio.shield(self._server.wait_closed()), 2)
            except TimeoutError:
                # A client that does not answer the close handshake (hung, or its loop stopped) must not hold
                # the shutdown for websockets' 10 s close timeout.
                # `connections` lists only OPEN ones; those waiting for the close handshake are CLOSING.
                for connection in list(getattr(self._server, "all_connections", self._server.connections)):
                    connection.transport.abort()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._uploads is not None:
            self._uploads.close()
        if self._worker is not None:
            await self._worker.aclose()

    def _engine_waiting(self) -> float:
        return self._worker.waiting if self._worker is not None else 0.0

    def _engine_up(self) -> float:
        return 1.0 if self._worker is not None and self._worker.reachable else 0.0

    def health(self, detailed: bool = True) -> dict[str, object]:
        """The /healthz body; `detailed` adds the engine's URL and last error (only for a request with the token:
        they tell a stranger where the engine is and what went wrong with it)."""
        stats = self._worker.stats if self._worker is not None else None
        status = "ok" if self.loaded else ("failed" if self._load_error else "loading")
        engine = self._worker.health() if self._worker is not None else None
        if self._worker is not None and self.loaded and not self._worker.reachable:
            status = "engine_down"
        body: dict[str, object] = {
            "status": status,
            "model": self._engine.model if self._engine else self.config.model,
            "backend": self._engine.backend if self._engine else self.config.backend,
            "sessions": self._connections,
            "uploads": self._uploads.active if self._uploads is not None else 0,
            "max_sessions": self.config.max_sessions,
            "queued_steps": self._worker.queued if self._worker is not None else 0,
            "decode_steps": stats.steps if stats else 0,
            "largest_batch": stats.largest_batch if stats else 0,
            "failed_decodes": stats.failed_items if stats else 0,
            "decoded_items": stats.items if stats else 0,
            "decoded_audio_seconds": round(stats.audio_seconds, 3) if stats else 0.0,
            # For leak checks: both return to their idle values when every connection has closed.
            "asyncio_tasks": len(asyncio.all_tasks()),
            "threads": threading.active_count(),
        }
        if engine is not None:
            body["engine"] = engine if detailed else {key: value for key, value in engine.items()
                                                      if key not in ("url", "last_error")}
        return body

    def _on_loaded(self, engine: EngineInfo | None, error: BaseException | None) -> None:
        if engine is not None:
            self._engine = dataclasses.replace(engine, model=engine.model or self.config.model)
            log.info("model loaded: %s (%s)", self._engine.model, self._engine.backend)
        else:
            self._load_error = error
            log.error("model failed to load: %s", error)
        self._loaded.set()

    # -- HTTP gate ------------------------------------------------------------------------------------------

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse foreign Host and Origin (403), answer /healthz, refuse bad tokens (401), refuse while loading or
        full (503); None = go on."""
        hosts, origins = request.headers.get_all("Host"), request.headers.get_all("Origin")
        if len(hosts) != 1 or len(origins) > 1:
            return connection.respond(HTTPStatus.BAD_REQUEST, "send exactly one Host header and at most one Origin\n")
        refusal = self._policy.check(hosts[0], origins[0] if origins else None)
        if refusal is not None:
            log.warning("refused a request from %s: %s", connection.remote_address, refusal.message)
            return connection.respond(HTTPStatus.FORBIDDEN, refusal.message + "\n")
        path = urlsplit(request.path).path
        if path == "/metrics" and not (self.config.token and not token_matches(self.config.token, request)):
            response = connection.respond(HTTPStatus.OK, "")
            response.body = self.metrics.render()
            del response.headers["Content-Type"]
            del response.headers["Content-Length"]
            response.headers["Content-Type"] = CONTENT_TYPE
            response.headers["Content-Length"] = str(len(response.body))
            return response
        if path == "/healthz":
            body = self.health(detailed=bool(self.config.token) and token_matches(self.config.token, request))
            return _json_response(connection, HTTPStatus.OK if body["status"] == "ok"
                                  else HTTPStatus.SERVICE_UNAVAILABLE, body)
        if self.config.token and not token_matches(self.config.token, request):
            log.warning("refused a connection from %s: missing or wrong token", connection.remote_address)
            return connection.respond(HTTPStatus.UNAUTHORIZED, "missing or wrong token: send "
                                      "'Authorization: Bearer <token>' or ?token=<token>\n")
        if not self.loaded:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading; retry\n")
        if self._connections >= self.config.max_sessions:
            log.warning("refused a connection: %d sessions already (--max-sessions)", self._connections)
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE,
                                      f"server busy: {self._connections} sessions already (--max-sessions)\n")
        return None

    # -- one connection -------------------------------------------------------------------------------------

    async def _serve_connection(self, websocket: ServerConnection) -> None:
        assert self._engine is not None and self._worker is not None
        engine, worker = self._engine, self._worker

        def admit(taking: bool) -> str | None:
            # The gate checked before the handshake, but sockets that never say hello must not hold a slot: it is
            # taken only at the first valid message, so scans, idle sockets and failed upgrades never hold one.
            if not taking:
                self._connections -= 1
                return None
            if self._connections >= self.config.max_sessions:
                return f"server busy: {self._connections} sessions already (--max-sessions)"
            self._connections += 1
            if isinstance(websocket, RoutingConnection):
                websocket.admitted()
            return None

        connection = Connection(websocket, self.config, self.metrics, lambda send: Session(
            self.config, engine, send, worker, self.metrics), admit)
        await connection.serve()


def _json_response(connection: ServerConnection, status: HTTPStatus, body: dict[str, object]) -> Response:
    response = connection.respond(status, json.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response
