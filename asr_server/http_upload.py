"""POST requests on the WebSocket port: a websockets connection class that hands them to an HTTP/1.1 handler.

websockets parses only bodiless requests (it answers a request with a body with 400), so an upload such as
`POST /v1/audio/transcriptions` cannot pass through its handshake. `serve(create_connection=...)` is websockets'
hook for customising connections: `RoutingConnection` looks at the first bytes of each connection; anything but
`POST ` goes to websockets untouched, a POST becomes one HTTP/1.1 exchange parsed by h11 (Content-Length or
chunked bodies, `Expect: 100-continue`), answered, and closed. The handler sees the head before any of the body
is read, so a refused request (token, size, path) holds nothing.

Deadlines: websockets' own `open_timeout` would cut an upload still being transcribed, so the server disables it
and this class applies it to the WebSocket handshake itself. An exchange has three: its head within seconds of
the connection's start, its body within seconds of the head, its transcription within --upload-timeout-seconds.

Before a connection is a session it holds a file descriptor and memory that --max-sessions does not count, so
each address may hold at most `ConnectionLimits.pending` such connections (more are closed at once), and a
client that sends without reading (a ping flood: every ping is answered with a pong it never reads) is closed
with 1008 once `max_write_buffer` bytes wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode

from asr_server.budget import AddressBudget
from asr_server.log_limit import PerSecond, ThrottledLog

log = logging.getLogger(__name__)

_MAX_HEAD_BYTES = 16384


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request head (header names lower-case) and, once read, its body."""

    method: str
    target: str
    headers: dict[str, str]
    remote: str
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    """What goes back: status, content type and body."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class PostHandler(ABC):
    """What a `RoutingConnection` calls: `check` on the head (a response ends the exchange there; None accepts
    it and holds a slot until `release`), then `handle` on the whole request. `body_limit` bounds what is read;
    `deadline` bounds `handle`."""

    body_limit: int = 1 << 20
    deadline: float = 600.0

    @abstractmethod
    def check(self, request: HttpRequest) -> HttpResponse | None:
        """A response for this head (a refusal, or a CORS preflight's answer), or None to read the body and call
        `handle`; None holds the handler's capacity for this request until `release`."""

    @abstractmethod
    async def handle(self, request: HttpRequest) -> HttpResponse:
        """The answer to a whole request."""

    @abstractmethod
    def release(self, request: HttpRequest) -> None:
        """The exchange accepted by `check` is over (answered, timed out, or the client left)."""

    def too_large(self) -> HttpResponse:
        """The answer when the body is over `body_limit`."""
        return HttpResponse(413, b'{"error": {"message": "request body too large"}}\n')

    def timed_out(self, what: str, seconds: float) -> HttpResponse:
        """The answer when the head or the body did not arrive in time."""
        message = f"the request {what} did not arrive within {seconds:g} s; send it at once"
        return HttpResponse(408, (json.dumps({"error": {"message": message}}) + "\n").encode())


@dataclass(frozen=True)
class ConnectionLimits:
    """What one TCP connection may take before it is a session (see the module docstring)."""

    open_timeout: float | None = 10.0  # the WebSocket handshake
    head_timeout: float = 5.0  # an HTTP request's line and headers, from the connection's start
    body_timeout: float = 60.0  # an HTTP request's body, from the end of its head
    max_write_buffer: int = 1 << 20  # bytes waiting for a client that does not read (pongs included)
    pending: AddressBudget = field(default_factory=lambda: AddressBudget(32))


_ROUTED_METHODS = (b"POST ", b"OPTIONS ")
_SLICE = 16384
_PONGS_PER_SECOND = 20
_PINGS_PER_SECOND = 1000
_refused_log = ThrottledLog(log, logging.WARNING)
_slow_reader_log = ThrottledLog(log, logging.WARNING)


class RoutingConnection(ServerConnection):
    """A websockets server connection that answers POST (and its CORS preflight, OPTIONS) through `post`
    instead of the handshake, and bounds what the connection may hold before it is a session."""

    def __init__(self, protocol: Any, server: Any, *, post: PostHandler, limits: ConnectionLimits,
                 **kwargs: Any) -> None:
        super().__init__(protocol, server, **kwargs)
        self._post = post
        self._limits = limits
        self._pending = b""
        self._routed: asyncio.Future[bool] = self.loop.create_future()  # True = POST or OPTIONS
        self._exchange: _Exchange | None = None
        self._address = "?"
        self._holds_pending = False
        self._made_at = self.loop.time()
        self._overflowing = False
        self._backlog = bytearray()
        self._slicing = False
        # Pings are answered at most _PONGS_PER_SECOND a second (RFC 6455 5.5.3 lets one pong answer several
        # pings): a flood then costs a frame parse each, not a write each. Past _PINGS_PER_SECOND it is closed.
        self._pongs = PerSecond(_PONGS_PER_SECOND)
        self._pings = PerSecond(_PINGS_PER_SECOND)
        self._answer_frame = protocol.recv_frame
        protocol.recv_frame = self._recv_frame

    # -- the pre-session budget -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self._address = str(peer[0]) if peer else "?"
        self._made_at = self.loop.time()
        if self._limits.pending.take(self._address):
            self._holds_pending = True
            return
        _refused_log.note("refused a connection from %s: it already has %d connections that are not sessions "
                          "yet (--max-pending-per-ip)", self._address, self._limits.pending.limit)
        self.transport.abort()

    def admitted(self) -> None:
        """This WebSocket is a session now: it no longer counts against its address's pre-session budget."""
        if self._holds_pending:
            self._holds_pending = False
            self._limits.pending.give_back(self._address)

    def connection_lost(self, exc: Exception | None) -> None:
        self.admitted()
        super().connection_lost(exc)

    # -- routing --------------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._exchange is not None:
            self._exchange.feed(data)
            return
        if self._routed.done():
            self._feed_websocket(data)
            return
        self._pending += data
        if len(self._pending) < 8 and any(method.startswith(self._pending) for method in _ROUTED_METHODS):
            return  # not enough bytes to tell yet
        pending, self._pending = self._pending, b""
        if pending.startswith(_ROUTED_METHODS):
            self._exchange = _Exchange(self, self._post, self._limits)
            self._exchange.feed(pending)
            self._routed.set_result(True)
        else:
            self._routed.set_result(False)
            self._feed_websocket(pending)

    def _feed_websocket(self, data: bytes) -> None:
        """At most _SLICE bytes to websockets per turn of the loop: one 256 KiB read of tiny frames is tens of
        thousands of frames, parsed in one go while every other session waits. The rest waits its turn, with
        reading paused meanwhile."""
        if not self._backlog and len(data) <= _SLICE:
            super().data_received(data)
            self._check_write_buffer()
            return
        self._backlog += data
        self.transport.pause_reading()
        if not self._slicing:
            self._slicing = True
            self.loop.call_soon(self._next_slice)

    def _next_slice(self) -> None:
        if self.transport.is_closing():
            self._backlog, self._slicing = bytearray(), False
            return
        piece = bytes(self._backlog[:_SLICE])
        del self._backlog[:_SLICE]
        super().data_received(piece)
        self._check_write_buffer()
        if self._backlog:
            self.loop.call_soon(self._next_slice)
            return
        self._slicing = False
        # Reading resumes unless websockets paused it itself (its queue of received messages is full).
        if not self._overflowing and not getattr(self.recv_messages, "paused", False):
            self.transport.resume_reading()

    def _recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING:
            if not self._pings.allow():
                if not self._overflowing:
                    self.loop.call_soon(self._close_slow_reader, f"over {_PINGS_PER_SECOND} pings a second; "
                                        "reconnect")
                return
            if not self._pongs.allow():
                return  # answered by a later pong
        self._answer_frame(frame)

    def _check_write_buffer(self) -> None:
        """A client that sends (pings above all: each is answered with a pong) but never reads would make the
        server queue answers without bound; past `max_write_buffer` it is closed with 1008 instead."""
        if self._overflowing or self.transport.get_write_buffer_size() <= self._limits.max_write_buffer:
            return
        self._close_slow_reader("the client does not read what the server sends (pongs included); reconnect")

    def _close_slow_reader(self, reason: str) -> None:
        if self._overflowing or self.transport.is_closing():
            return
        self._overflowing = True
        self.transport.pause_reading()  # nothing more is read, so nothing more is answered
        _slow_reader_log.note("closing a connection from %s (1008): %s", self._address, reason)
        with contextlib.suppress(Exception):
            self.protocol.send_close(1008, reason)
            self.send_data()
        # It does not read, so it will not read the close frame either: drop the connection soon after.
        self.loop.call_later(1.0, self.transport.abort)

    def eof_received(self) -> bool | None:
        if self._exchange is not None:
            self._exchange.feed(b"")
            return True  # keep the transport open for the response
        if self._backlog:  # what came before the end goes first
            piece = bytes(self._backlog)
            self._backlog.clear()
            super().data_received(piece)
        return super().eof_received()

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        async with asyncio.timeout(self._limits.open_timeout):
            await asyncio.wait([self._routed, self.connection_lost_waiter], return_when=asyncio.FIRST_COMPLETED)
            if not (self._routed.done() and self._routed.result()):
                await super().handshake(*args, **kwargs)
                return
        assert self._exchange is not None
        try:
            await self._exchange.run(self._made_at + self._limits.head_timeout)
        except Exception:
            log.exception("an HTTP request from %s failed", self._address)
        self.transport.close()  # flushes the response first; websockets then aborts a closed transport
        await asyncio.wait([self.connection_lost_waiter], timeout=5)


class _Exchange:
    """One HTTP/1.1 request and response over the connection's transport, parsed by h11."""

    def __init__(self, connection: RoutingConnection, post: PostHandler, limits: ConnectionLimits) -> None:
        self._connection = connection
        self._post = post
        self._limits = limits
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD_BYTES)
        self._more = asyncio.Event()
        self._received = 0

    def feed(self, data: bytes) -> None:
        self._received += len(data)
        self._h11.receive_data(data)
        self._more.set()

    async def run(self, head_deadline: float) -> None:
        """Read the head by `head_deadline` (loop time), check it, read the body, answer."""
        host, port = (self._connection.remote_address or ("?", "?"))[:2]
        remote = f"{host}:{port}"
        try:
            async with asyncio.timeout_at(head_deadline):
                head = await self._next(h11.Request)
        except h11.RemoteProtocolError as error:
            self._send(HttpResponse(400, f"malformed HTTP request: {error}\n".encode(), "text/plain"))
            return
        except TimeoutError:
            log.info("an HTTP request from %s sent no complete head within %g s; closed", remote,
                     self._limits.head_timeout)
            self._send(self._post.timed_out("line and headers", self._limits.head_timeout))
            return
        if head is None:
            return
        request = HttpRequest(head.method.decode(), head.target.decode("latin-1"),
                              {k.decode().lower(): v.decode("latin-1") for k, v in head.headers}, remote)
        response = self._post.check(request)
        if response is not None:
            self._send(response)
            return
        try:
            self._send(await self._answer(request))
        finally:
            self._post.release(request)

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        if _content_length(request) > self._post.body_limit:
            return self._post.too_large()
        try:
            async with asyncio.timeout(self._limits.body_timeout):
                body = await self._body()
        except TimeoutError:
            log.info("an upload from %s sent %d bytes in %g s and not the whole body; closed", request.remote,
                     self._received, self._limits.body_timeout)
            return self._post.timed_out("body", self._limits.body_timeout)
        except (ConnectionError, h11.RemoteProtocolError) as error:
            log.info("an upload from %s ended after %d bytes: %s", request.remote, self._received, error)
            return HttpResponse(400, b"")
        if body is None:
            return self._post.too_large()
        full = HttpRequest(request.method, request.target, request.headers, request.remote, body)
        try:
            return await asyncio.wait_for(self._post.handle(full), self._post.deadline)
        except TimeoutError:
            log.warning("an upload from %s took over %.0f s to transcribe; answered 504", request.remote,
                        self._post.deadline)
            message = f"transcribing took over {self._post.deadline:g} s (--upload-timeout-seconds)"
            return HttpResponse(504, (json.dumps({"error": {"message": message}}) + "\n").encode())

    async def _body(self) -> bytes | None:
        """The whole body, or None past `body_limit` (the rest is not read)."""
        if self._h11.they_are_waiting_for_100_continue:
            self._write(self._h11.send(h11.InformationalResponse(status_code=100, headers=[])))
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self._next(h11.Data, h11.EndOfMessage)
            if event is None:
                raise ConnectionError("the client closed the connection before the end of the body")
            if isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            size += len(event.data)
            if size > self._post.body_limit:
                return None
            parts.append(bytes(event.data))

    async def _next(self, *kinds: type) -> Any:
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                self._more.clear()
                await self._more.wait()
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, kinds):
                return event

    def _send(self, response: HttpResponse) -> None:
        headers = [("content-type", response.content_type), ("content-length", str(len(response.body))),
                   ("connection", "close"), *response.headers.items()]
        try:
            self._write(self._h11.send(h11.Response(status_code=response.status, headers=headers)))
            self._write(self._h11.send(h11.Data(data=response.body)))
            self._write(self._h11.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as error:  # the request was unparseable: answer without h11's bookkeeping
            log.debug("answering outside h11: %s", error)
            status = f"HTTP/1.1 {response.status} \r\n".encode()
            lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers)
            self._write(status + lines + b"\r\n" + response.body)

    def _write(self, data: bytes | None) -> None:
        if data and not self._connection.transport.is_closing():
            self._connection.transport.write(data)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.headers.get("content-length", "0") or 0)
    except ValueError:
        return 0  # h11 refuses a malformed Content-Length before the head reaches here


def routing_connection(post: PostHandler, limits: ConnectionLimits) -> Callable[..., RoutingConnection]:
    """The `create_connection` argument for `websockets.asyncio.server.serve`."""

    def create(protocol: Any, server: Any, **kwargs: Any) -> RoutingConnection:
        return RoutingConnection(protocol, server, post=post, limits=limits, **kwargs)

    return create

