"""One accepted WebSocket: a reader that feeds the Session, and a bounded outbox drained by a writer.

A WebSocket is not a session until its first valid message (hello, or start from an original client): before
that it holds no session slot, and it is closed (1008) when that message has not come within
--hello-timeout-seconds. Idle sockets opened by a web page used to hold every slot for 30 minutes.

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
from asr_server.log_limit import PerSecond, ThrottledLog
from asr_server.metrics import ServerMetrics
from asr_server.session import Session
from dictation_core import protocol
from dictation_core.protocol import ProtocolError

log = logging.getLogger(__name__)

_CLOSE_POLICY = 1008
_CLOSE_TRY_AGAIN = 1013
_no_hello_log = ThrottledLog(log)


def _always(admitted: bool) -> str | None:
    return None


class Connection:
    """Serves one WebSocket until it closes; `make_session(send)` builds its Session."""

    def __init__(self, websocket: ServerConnection, config: ServerConfig, metrics: ServerMetrics,
                 make_session: Callable[[Callable[[str], None]], Session],
                 admit: Callable[[bool], str | None] = _always) -> None:
        """`admit(True)` on the first valid message takes a session slot (a string refuses it: the reason);
        `admit(False)` when the connection ends gives it back."""
        self._websocket = websocket
        self._admit = admit
        self.admitted = False
        self._allowance = PerSecond(config.max_messages_per_second)
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
        try:
            if await self._greeting():
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
            if self.admitted:
                self._admit(False)
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

    async def _greeting(self) -> bool:
        """Read until the first valid message, which makes this connection a session; False if it closed."""
        timeout = self._config.hello_timeout_seconds
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await self._websocket.recv()
            except TimeoutError:
                _no_hello_log.note("a connection from %s sent no valid first message within %g s; closed (1008)",
                                   self._websocket.remote_address, timeout)
                await self._websocket.close(_CLOSE_POLICY, f"no valid hello or start within {timeout:g} s of "
                                            "connecting; send hello first")
                return False
            if isinstance(message, str) and _valid(message, self._config.max_context_chars):
                refusal = self._admit(True)
                if refusal is not None:
                    await self._websocket.close(_CLOSE_TRY_AGAIN, refusal)
                    return False
                self.admitted = True
                log.info("session %d connected from %s", self.session.number, self._websocket.remote_address)
            self._dispatch(message)
            if self.admitted:
                return True

    def _dispatch(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.session.on_binary(message)
        else:
            self.session.on_text(message)

    async def _read(self) -> None:
        idle = self._config.idle_timeout_seconds or None
        while True:
            try:
                # A timeout scope, not wait_for: wait_for makes a task per message, a cost a flood multiplies.
                async with asyncio.timeout(idle):
                    message = await self._websocket.recv()
            except TimeoutError:
                log.info("session %d idle for %.0f s; closing", self.session.number, idle)
                await self._websocket.close(1000, "idle timeout")
                return
            self._dispatch(message)
            if not self._allowance.allow():
                await asyncio.sleep(self._allowance.wait())  # its further messages wait in its socket
            if pause := self.session.backoff_seconds():
                # Not read meanwhile: its further messages wait in the socket, at no cost to other sessions.
                await asyncio.sleep(pause)

    async def _write(self) -> None:
        while (message := await self._outbox.get()) is not None:
            try:
                await self._websocket.send(message)
            except ConnectionClosed:
                return


def _valid(raw: str, max_context_chars: int) -> bool:
    try:
        protocol.parse_event(raw, max_context_chars=max_context_chars)
    except ProtocolError:
        return False
    return True
