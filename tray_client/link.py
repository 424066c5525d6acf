"""The WebSocket link to asr_server: keeps every unfinished utterance's audio, replays it, delivers each final once.

Why it is built this way: words must survive a server restart or a dropped network. So the link never sends audio
"fire and forget". Each utterance keeps all of its audio until its final has been delivered; every (re)connection
starts by replaying the unfinished utterances from their first byte, in order; finals are de-duplicated by
utterance id (a replay can produce a second final) and delivered in utterance order. If a final does not come
within `final_timeout_s`, the link reconnects and replays once more; if that fails too, `on_failed` hands the
audio back to the pipeline, which tells the user (and saves it), so nothing disappears silently.

Threading: everything here runs on the pipeline's asyncio thread. `open` / `append` / `close` are plain calls
that record audio and wake the sender; the sender task is the only writer to the socket, the receiver the only
reader.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from tray_client import protocol

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.25
BACKOFF_MAX_S = 3.0  # a restarted server is found again within a few seconds
AUTH_BACKOFF_S = 10.0  # a refused token will not fix itself; retry slowly
OPEN_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 5.0
WATCH_INTERVAL_S = 0.1
DEDUPE_MEMORY = 10_000


class LinkError(RuntimeError):
    """The link cannot carry on as configured."""


class AuthRefused(LinkError):
    """The server refused the token: set `token` (or --token) to the server's token."""


@dataclass(frozen=True)
class LinkSettings:
    """Where and how to connect, and how long to wait for finals."""

    url: str
    token: str | None = None
    language: str | None = None
    context: str = ""
    final_timeout_s: float = 10.0
    max_replays: int = 1  # replays after a missing final before the user is told


@dataclass(frozen=True)
class LinkStatus:
    """Connection state for the UI: `error` means the user must act (e.g. a refused token)."""

    connected: bool
    detail: str = ""
    error: bool = False


@dataclass
class _Utterance:
    utterance_id: str
    chunks: list[bytes] = field(default_factory=list)
    closed: bool = False
    final: protocol.Final | None = None
    replays: int = 0
    deadline: float | None = None  # loop time by which the final must arrive (only while connected)
    # What the current connection has carried; reset to zero on every new connection, which replays it all.
    sent_start: bool = False
    sent_chunks: int = 0
    sent_stop: bool = False

    def rewind(self) -> None:
        self.sent_start = False
        self.sent_chunks = 0
        self.sent_stop = False
        self.deadline = None

    @property
    def audio(self) -> bytes:
        return b"".join(self.chunks)


FinalCallback = Callable[[str, str, str], None]  # utterance id, raw text, language
PartialCallback = Callable[[str, str], None]
FailedCallback = Callable[[str, bytes, str], None]  # utterance id, its audio, why
StatusCallback = Callable[[LinkStatus], None]


class Link:
    """A self-healing WebSocket session speaking protocol v1. Create and use it on one asyncio loop."""

    def __init__(
        self,
        settings: LinkSettings,
        *,
        on_final: FinalCallback,
        on_failed: FailedCallback,
        on_status: StatusCallback,
        on_partial: PartialCallback | None = None,
    ) -> None:
        self.settings = settings
        self._on_final = on_final
        self._on_failed = on_failed
        self._on_status = on_status
        self._on_partial = on_partial
        self._pending: collections.OrderedDict[str, _Utterance] = collections.OrderedDict()
        self._delivered: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._dirty = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._status = LinkStatus(False, "not connected yet")
        self.connections = 0  # successful connections so far (tests and logs)
        self.disconnected_since: float | None = None  # loop time the link went (or started) down

    # ----- called by the pipeline (same loop) -----
    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def status(self) -> LinkStatus:
        return self._status

    @property
    def unfinished(self) -> int:
        """Utterances whose final has not been delivered yet (open ones included)."""
        return len(self._pending)

    @property
    def awaiting_final(self) -> int:
        """Closed utterances still waiting for their final."""
        return sum(1 for u in self._pending.values() if u.closed)

    def open(self, utterance_id: str) -> None:
        """Start an utterance; its audio is kept until its final is delivered."""
        self._pending[utterance_id] = _Utterance(utterance_id)
        self._idle.clear()
        self._dirty.set()

    def append(self, utterance_id: str, pcm: bytes) -> None:
        """Add audio (int16 LE mono 16 kHz) to an open utterance."""
        utterance = self._pending.get(utterance_id)
        if utterance is None or utterance.closed:
            log.warning("audio for unknown or closed utterance %s dropped", utterance_id)
            return
        utterance.chunks.append(pcm)
        self._dirty.set()

    def close(self, utterance_id: str) -> None:
        """End an utterance: the server is asked for its final."""
        utterance = self._pending.get(utterance_id)
        if utterance is not None:
            utterance.closed = True
            self._dirty.set()

    def reconnect(self) -> None:
        """Drop the connection and connect again now (replays everything unfinished)."""
        self._reconnect.set()

    def configure(self, settings: LinkSettings) -> None:
        """New URL, token, language or glossary: reconnect with them; unfinished utterances are replayed."""
        self.settings = settings
        self.reconnect()

    def start(self) -> None:
        """Start connecting (and reconnecting) in the background on the running loop."""
        if self._task is None:
            self.disconnected_since = asyncio.get_running_loop().time()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="link")

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every utterance has its final (or was given up); return False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> list[str]:
        """Stop the link; return the ids of utterances that never got a final (their audio is dropped)."""
        self._closing = True
        self._reconnect.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        dropped = list(self._pending)
        self._pending.clear()
        self._idle.set()
        return dropped

    # ----- internals -----
    def _set_status(self, status: LinkStatus) -> None:
        if status != self._status:
            self._status = status
            self._on_status(status)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        watcher = loop.create_task(self._watch_deadlines(), name="link-deadlines")
        backoff = BACKOFF_INITIAL_S
        try:
            while not self._closing:
                delay = backoff
                try:
                    await self._connect_and_serve()
                    backoff = BACKOFF_INITIAL_S
                    delay = 0.0 if self._reconnect_requested() else BACKOFF_INITIAL_S
                except AuthRefused as error:
                    self._set_status(LinkStatus(False, str(error), error=True))
                    delay = AUTH_BACKOFF_S
                except (OSError, TimeoutError, LinkError, protocol.ProtocolError) as error:
                    self._set_status(LinkStatus(False, f"cannot reach {self.settings.url}: {error}"))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                except _websocket_errors() as error:
                    self._set_status(LinkStatus(False, f"{self.settings.url}: {error}"))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                finally:
                    if self._connected:
                        self._connected = False
                    if self.disconnected_since is None:
                        self.disconnected_since = loop.time()
                    for utterance in self._pending.values():
                        utterance.rewind()
                if self._closing:
                    break
                if not self._status.error and self._status.connected:
                    self._set_status(LinkStatus(False, "connection lost; reconnecting"))
                self._reconnect.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._reconnect.wait(), delay)
                self._reconnect.clear()
        finally:
            watcher.cancel()

    def _reconnect_requested(self) -> bool:
        return self._reconnect.is_set()

    async def _connect_and_serve(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else None
        try:
            websocket = await connect(
                self.settings.url,
                additional_headers=headers,
                open_timeout=OPEN_TIMEOUT_S,
                proxy=None,
                ping_interval=10,
                ping_timeout=10,
                close_timeout=1,
                max_size=2**22,
            )
        except InvalidStatus as error:
            if error.response.status_code in (401, 403):
                raise AuthRefused(f"the server at {self.settings.url} refused the token "
                                  f"(HTTP {error.response.status_code}): set --token to the server's token") from error
            raise
        try:
            await websocket.send(protocol.hello(self.settings.language, self.settings.context))
            await self._await_ready(websocket)
            self._connected = True
            self.connections += 1
            self.disconnected_since = None
            self._set_status(LinkStatus(True, f"connected to {self.settings.url}"))
            log.info("connected to %s; replaying %d unfinished utterance(s)", self.settings.url, len(self._pending))
            for utterance in self._pending.values():
                utterance.rewind()
            self._dirty.set()
            tasks = [
                asyncio.ensure_future(self._send_loop(websocket)),
                asyncio.ensure_future(self._receive_loop(websocket)),
                asyncio.ensure_future(self._reconnect.wait()),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            self._connected = False
            with contextlib.suppress(Exception):
                await websocket.close()

    async def _await_ready(self, websocket: object) -> None:
        """Wait for the server's `ready`; a server that only knows the original protocol never sends it."""
        try:
            raw = await asyncio.wait_for(websocket.recv(), READY_TIMEOUT_S)  # type: ignore[attr-defined]
        except TimeoutError:
            log.warning("no `ready` from %s after hello; assuming an original-protocol server", self.settings.url)
            return
        message = protocol.parse(raw)
        if isinstance(message, protocol.ServerError):
            self._check_error(message)
        elif not isinstance(message, protocol.Ready):
            self._handle(message)

    async def _send_loop(self, websocket: object) -> None:
        send = websocket.send  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            for utterance in list(self._pending.values()):
                if self._pending.get(utterance.utterance_id) is not utterance or utterance.final is not None:
                    continue
                if not utterance.sent_start:
                    await send(protocol.start(utterance.utterance_id))
                    utterance.sent_start = True
                while utterance.sent_chunks < len(utterance.chunks):
                    await send(utterance.chunks[utterance.sent_chunks])
                    utterance.sent_chunks += 1
                if not utterance.closed:
                    break  # only one utterance can be open, and it is the last
                if not utterance.sent_stop:
                    await send(protocol.stop())
                    utterance.sent_stop = True
                    utterance.deadline = loop.time() + self.settings.final_timeout_s

    async def _receive_loop(self, websocket: object) -> None:
        async for raw in websocket:  # type: ignore[attr-defined]
            try:
                message = protocol.parse(raw)
            except protocol.ProtocolError as error:
                log.warning("ignoring a message from the server: %s", error)
                continue
            self._handle(message)

    def _handle(self, message: protocol.ServerMessage) -> None:
        if isinstance(message, protocol.Final):
            self._on_server_final(message)
        elif isinstance(message, protocol.Partial):
            if self._on_partial is not None and message.utterance_id in self._pending:
                self._on_partial(message.utterance_id, message.text)
        elif isinstance(message, protocol.ServerError):
            self._check_error(message)

    def _check_error(self, error: protocol.ServerError) -> None:
        if error.code == "unauthorized":
            raise AuthRefused(f"the server refused the token ({error.message}): set --token to the server's token")
        if error.code == "busy":
            raise LinkError(f"the server is busy ({error.message}); retrying")
        log.warning("server error %s for utterance %s: %s", error.code, error.utterance_id, error.message)
        utterance = self._pending.get(error.utterance_id or "")
        if utterance is not None and utterance.deadline is not None:
            utterance.deadline = 0.0  # treat like a missing final: replay once, then tell the user

    def _on_server_final(self, final: protocol.Final) -> None:
        utterance_id = final.utterance_id
        if utterance_id is None:  # an original-protocol server: finals come in order
            utterance_id = next((u.utterance_id for u in self._pending.values()
                                 if u.sent_stop and u.final is None), None)
            if utterance_id is None:
                log.warning("a final without id and no utterance waiting for one: %r", final.text[:80])
                return
        if utterance_id in self._delivered:
            log.info("duplicate final for %s ignored (a replay answered twice)", utterance_id)
            return
        utterance = self._pending.get(utterance_id)
        if utterance is None:
            log.warning("final for unknown utterance %s ignored", utterance_id)
            return
        utterance.final = protocol.Final(utterance_id, final.text, final.language)
        utterance.deadline = None
        self._flush()

    def _flush(self) -> None:
        """Deliver finals in utterance order: a later final waits for the replay of an earlier one."""
        while self._pending:
            head = next(iter(self._pending.values()))
            if head.final is None:
                break
            del self._pending[head.utterance_id]
            self._remember(head.utterance_id)
            self._on_final(head.utterance_id, head.final.text, head.final.language)
        if not self._pending:
            self._idle.set()

    def _remember(self, utterance_id: str) -> None:
        self._delivered[utterance_id] = None
        while len(self._delivered) > DEDUPE_MEMORY:
            self._delivered.popitem(last=False)

    async def _watch_deadlines(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = loop.time()
            late = [u for u in self._pending.values()
                    if u.final is None and u.deadline is not None and u.deadline <= now]
            for utterance in late:
                if utterance.replays < self.settings.max_replays:
                    utterance.replays += 1
                    utterance.deadline = None
                    log.warning("no final for %s within %.1f s; reconnecting to replay it",
                                utterance.utterance_id, self.settings.final_timeout_s)
                    self.reconnect()
                else:
                    log.error("no final for %s after %d replay(s); giving up on it",
                              utterance.utterance_id, utterance.replays)
                    del self._pending[utterance.utterance_id]
                    self._remember(utterance.utterance_id)
                    self._on_failed(utterance.utterance_id, utterance.audio, "no transcript from the server")
            if late:
                self._flush()


def _websocket_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import WebSocketException

    return (WebSocketException,)
