"""POST requests on the WebSocket port: a websockets connection class that hands them to an HTTP/1.1 handler.

websockets parses only bodiless requests (it answers a request with a body with 400), so an upload such as
`POST /v1/audio/transcriptions` cannot pass through its handshake. `serve(create_connection=...)` is websockets'
hook for customising connections: `RoutingConnection` looks at the first bytes of each connection; anything but
`POST ` goes to websockets untouched, a POST becomes one HTTP/1.1 exchange parsed by h11 (Content-Length or
chunked bodies, `Expect: 100-continue`), answered, and closed. The handler sees the head before any of the body
is read, so a refused request (token, size, path) holds nothing.

Deadlines: websockets' own `open_timeout` would cut an upload still being transcribed, so the server disables it
and this class applies it to the WebSocket handshake itself; an exchange has its own deadline.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11
from websockets.asyncio.server import ServerConnection

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
    """What a `RoutingConnection` calls: `check` on the head (a response refuses it), then `handle` on the whole
    request. `body_limit` bounds what is read; `deadline` bounds the whole exchange."""

    body_limit: int = 1 << 20
    deadline: float = 600.0

    @abstractmethod
    def check(self, request: HttpRequest) -> HttpResponse | None:
        """A refusal for this head, or None to read the body and call `handle`."""

    @abstractmethod
    async def handle(self, request: HttpRequest) -> HttpResponse:
        """The answer to a whole request."""

    def too_large(self) -> HttpResponse:
        """The answer when the body is over `body_limit`."""
        return HttpResponse(413, b'{"error": {"message": "request body too large"}}\n')


class RoutingConnection(ServerConnection):
    """A websockets server connection that answers POST requests through `post` instead of the handshake."""

    def __init__(self, protocol: Any, server: Any, *, post: PostHandler, open_timeout: float | None = 10.0,
                 **kwargs: Any) -> None:
        super().__init__(protocol, server, **kwargs)
        self._post = post
        self._open_timeout = open_timeout
        self._pending = b""
        self._routed: asyncio.Future[bool] = self.loop.create_future()  # True = POST
        self._exchange: _Exchange | None = None

    def data_received(self, data: bytes) -> None:
        if self._exchange is not None:
            self._exchange.feed(data)
            return
        if self._routed.done():
            super().data_received(data)
            return
        self._pending += data
        if b"POST "[: len(self._pending)] == self._pending[:5] and len(self._pending) < 5:
            return  # not enough bytes to tell yet
        pending, self._pending = self._pending, b""
        if pending.startswith(b"POST "):
            self._exchange = _Exchange(self, self._post)
            self._exchange.feed(pending)
            self._routed.set_result(True)
        else:
            self._routed.set_result(False)
            super().data_received(pending)

    def eof_received(self) -> bool | None:
        if self._exchange is not None:
            self._exchange.feed(b"")
            return True  # keep the transport open for the response
        return super().eof_received()

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        async with asyncio.timeout(self._open_timeout):
            await asyncio.wait([self._routed, self.connection_lost_waiter], return_when=asyncio.FIRST_COMPLETED)
            if not (self._routed.done() and self._routed.result()):
                await super().handshake(*args, **kwargs)
                return
        assert self._exchange is not None
        try:
            await asyncio.wait_for(self._exchange.run(), self._post.deadline)
        except TimeoutError:
            log.warning("an HTTP request from %s took over %.0f s; closed", self.remote_address,
                        self._post.deadline)
        except Exception:
            log.exception("an HTTP request from %s failed", self.remote_address)
        self.transport.close()  # flushes the response first; websockets then aborts a closed transport
        await asyncio.wait([self.connection_lost_waiter], timeout=5)


class _Exchange:
    """One HTTP/1.1 request and response over the connection's transport, parsed by h11."""

    def __init__(self, connection: RoutingConnection, post: PostHandler) -> None:
        self._connection = connection
        self._post = post
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD_BYTES)
        self._more = asyncio.Event()

    def feed(self, data: bytes) -> None:
        self._h11.receive_data(data)
        self._more.set()

    async def run(self) -> None:
        host, port = (self._connection.remote_address or ("?", "?"))[:2]
        remote = f"{host}:{port}"
        try:
            head = await self._next(h11.Request)
        except h11.RemoteProtocolError as error:
            self._send(HttpResponse(400, f"malformed HTTP request: {error}\n".encode(), "text/plain"))
            return
        if head is None:
            return
        request = HttpRequest(head.method.decode(), head.target.decode("latin-1"),
                              {k.decode().lower(): v.decode("latin-1") for k, v in head.headers}, remote)
        refusal = self._post.check(request)
        if refusal is None and int(request.headers.get("content-length", "0") or 0) > self._post.body_limit:
            refusal = self._post.too_large()
        if refusal is not None:
            self._send(refusal)
            return
        body = await self._body()
        if body is None:
            self._send(self._post.too_large())
            return
        self._send(await self._post.handle(HttpRequest(request.method, request.target, request.headers,
                                                       remote, body)))

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
        if data:
            self._connection.transport.write(data)


def routing_connection(post: PostHandler, open_timeout: float | None) -> Callable[..., RoutingConnection]:
    """The `create_connection` argument for `websockets.asyncio.server.serve`."""

    def create(protocol: Any, server: Any, **kwargs: Any) -> RoutingConnection:
        return RoutingConnection(protocol, server, post=post, open_timeout=open_timeout, **kwargs)

    return create

