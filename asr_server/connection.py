"""One accepted WebSocket: a reader that feeds the Session, and a bounded outbox drained by a writer.

A client that stops reading (hung, or hostile) would otherwise make the server hold every message meant for it.
The outbox holds at most `max_outbox_messages`; at that bound the connection is closed with code 1008 and a
reason that says why, and its session ends like any closed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from asr_server.config import ServerConfig
from asr_server.metrics import ServerMetrics
from asr_server.session import Session

log = logging.getLogger(__name__)

_CLOSE_POLICY = 1008


class Connection:
    """Serves one WebSocket until it closes; `make_session(send)` builds its Session."""

    def __init__(self, websocket: ServerConnection, config: ServerConfig, metrics: ServerMetrics,
                 make_session: Callable[[Callable[[str], None]], Session]) -> None:
        self._websocket = websocket
        self._config = config
        self._metrics = metrics
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(max(1, config.max_outbox_messages))
        self._overflowed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.session = make_session(self._send)

    async def serve(self) -> None:
        """Read until the connection closes; then end the session and the writer."""
        number = self.session.number
        writer = asyncio.create_task(self._write(), name=f"writer-{number}")
        log.info("session %d connected from %s", number, self._websocket.remote_address)
        try:
            await self._read()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("session %d: unexpected error; closing this connection only", number)
        finally:
            self.session.close()
            try:
                self._outbox.put_nowait(None)
            except asyncio.QueueFull:
                writer.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer, 5)
            log.info("session %d closed", number)

    def _send(self, message: str) -> None:
        if self._overflowed:
            return
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            self._overflowed = True
            self._metrics.slow_client_closed()
            reason = f"the client did not read its messages ({self._outbox.maxsize} waiting); reconnect"
            log.warning("session %d: %s: closing", self.session.number, reason)
            task = asyncio.create_task(self._websocket.close(_CLOSE_POLICY, reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read(self) -> None:
        idle = self._config.idle_timeout_seconds or None
        while True:
            try:
                message = await asyncio.wait_for(self._websocket.recv(), idle)
            except TimeoutError:
                log.info("session %d idle for %.0f s; closing", self.session.number, idle)
                await self._websocket.close(1000, "idle timeout")
                return
            if isinstance(message, bytes):
                self.session.on_binary(message)
            else:
                self.session.on_text(message)

    async def _write(self) -> None:
        while (message := await self._outbox.get()) is not None:
            try:
                await self._websocket.send(message)
            except ConnectionClosed:
                return
