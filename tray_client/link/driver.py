"""The WebSocket link to asr_server: keeps every unfinished utterance's audio, replays it, delivers each final once.

Why it is built this way: words must survive a server restart or a dropped network. So the link never sends audio
"fire and forget". Each utterance keeps all of its audio until its final has been delivered; every (re)connection
starts by replaying the unfinished utterances from their first byte, in order; finals are de-duplicated by
utterance id (a replay can produce a second final) and delivered in utterance order. If a final does not come
within `final_timeout_s`, the link reconnects and replays once more; if that fails too, `on_failed` hands the
audio back to the pipeline, which tells the user (and saves it), so nothing disappears silently.

What the server may answer, and what the link does about it:
- `error` code `engine` with an utterance id, instead of its final: the decode failed. The utterance is sent
  again on the same connection (start with the same id, all its audio, stop), once; a second failure goes to
  `on_failed`.
- `error` code `too_long` with id X (sent before the final of X): the server cut the utterance at its length
  limit; its final covers the audio so far and the rest comes as a final with id "X.2" (then "X.3", ...).
  Those segments are output in order, each once, and the utterance is complete with its last segment.
- HTTP 503 at the handshake (server loading or full) and `busy`: retried with capped backoff.
- HTTP 401/403 or `unauthorized`: retrying cannot help, so the link stops and reports an error status until
  `configure` (a new token) or `reconnect` is called.

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

from dictation_core import protocol

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.25
BACKOFF_MAX_S = 3.0  # a restarted server is found again within a few seconds
OPEN_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 5.0
WATCH_INTERVAL_S = 0.1
DEDUPE_MEMORY = 10_000
MAX_FRAME_BYTES = 32_000  # 1 s of audio per binary frame: well under asr_server's max_frame_bytes (64 KiB)


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
    replays: int = 0
    deadline: float | None = None  # loop time by which the final must arrive (only while connected)
    # The server's answer, by segment: 1 is the utterance itself, n >= 2 the continuation "<id>.n" after a cut.
    segments: dict[int, protocol.Final] = field(default_factory=dict)
    delivered: int = 0  # segments output so far (always 1..delivered, in order)
    cuts: int = 0  # highest segment the server announced as cut (too_long): segment cuts + 1 follows
    last_segment: int | None = None  # known once a final arrives for a segment that was not cut
    resend: bool = False  # a replay was asked for while this utterance was still on the wire
    failed: str | None = None  # given up: why (reported to on_failed once it is closed)
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
    def complete(self) -> bool:
        """Every segment's final has arrived."""
        last = self.last_segment
        return last is not None and all(n in self.segments for n in range(1, last + 1))

    @property
    def needs_sending(self) -> bool:
        return not self.sent_stop and not self.complete and self.failed is None

    def segment_id(self, segment: int) -> str:
        return self.utterance_id if segment == 1 else f"{self.utterance_id}.{segment}"

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
        self._on_wire: _Utterance | None = None  # started on the current connection and not stopped yet
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
        return sum(1 for u in self._pending.values() if u.closed and u.failed is None)

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
        # One WebSocket frame per chunk: split a long pre-roll so no frame exceeds the server's frame limit.
        utterance.chunks.extend(pcm[i : i + MAX_FRAME_BYTES] for i in range(0, len(pcm), MAX_FRAME_BYTES))
        self._dirty.set()

    def close(self, utterance_id: str) -> None:
        """End an utterance: the server is asked for its final."""
        utterance = self._pending.get(utterance_id)
        if utterance is not None:
            utterance.closed = True
            self._dirty.set()
            if utterance.failed is not None:
                self._flush()

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
                delay: float | None = backoff
                connections_before = self.connections
                try:
                    await self._connect_and_serve()
                    backoff = BACKOFF_INITIAL_S
                    delay = 0.0 if self._reconnect_requested() else BACKOFF_INITIAL_S
                except AuthRefused as error:
                    # Retrying with the same token cannot succeed: wait for configure() or reconnect().
                    log.error("%s", error)
                    self._set_status(LinkStatus(False, str(error), error=True))
                    delay = None
                except (OSError, TimeoutError, LinkError, protocol.ProtocolError) as error:
                    self._set_status(LinkStatus(False, f"cannot reach {self.settings.url}: {error}"))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                except _websocket_errors() as error:
                    self._set_status(LinkStatus(False, f"{self.settings.url}: {error}"))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                except Exception as error:
                    # A bug of ours (or a server reply we mishandle) must not end reconnecting for the rest of
                    # the day: log it with its traceback, show it, and reconnect; unfinished audio is replayed.
                    log.exception("link failed unexpectedly; reconnecting")
                    self._set_status(LinkStatus(False, f"internal error ({type(error).__name__}); reconnecting"))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                finally:
                    self._connected = False
                    self._on_wire = None
                    if self.disconnected_since is None:
                        self.disconnected_since = loop.time()
                    for utterance in self._pending.values():
                        utterance.rewind()
                if self.connections > connections_before and delay is not None:
                    # It connected, then dropped (server restart, network cut): the backoff is for attempts that
                    # fail in a row, so start it over. Otherwise every restart waits longer, 3 s after a few.
                    backoff = BACKOFF_INITIAL_S
                    delay = min(delay, BACKOFF_INITIAL_S)
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
            status = error.response.status_code
            body = error.response.body.decode("utf-8", "replace").strip()[:200] if error.response.body else ""
            if status in (401, 403):
                raise AuthRefused(f"the server at {self.settings.url} refused the token (HTTP {status}"
                                  f"{': ' + body if body else ''}): set --token (or `token` in the config "
                                  "file) to the server's token") from error
            if status == 503:
                raise LinkError(f"the server is busy or still loading (HTTP 503{': ' + body if body else ''}); "
                                "retrying") from error
            raise
        try:
            await websocket.send(protocol.hello(self.settings.language, self.settings.context))
            await self._await_ready(websocket)
            self._connected = True
            self.connections += 1
            self.disconnected_since = None
            self._set_status(LinkStatus(True, f"connected to {self.settings.url}"))
            log.info("connected to %s; replaying %d unfinished utterance(s)", self.settings.url, len(self._pending))
            self._on_wire = None
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
        message = protocol.parse_message(raw)
        if isinstance(message, protocol.ServerError):
            self._check_error(message)
        elif not isinstance(message, protocol.Ready):
            self._handle(message)

    def _next_to_send(self) -> _Utterance | None:
        """The utterance the wire carries now: the one started and not stopped, else the first one unsent.

        Protocol v1 has one open utterance per connection, so a replay waits for the open one's stop."""
        current = self._on_wire
        if current is not None and self._pending.get(current.utterance_id) is current:
            return current
        return next((u for u in self._pending.values() if u.needs_sending), None)

    async def _send_loop(self, websocket: object) -> None:
        send = websocket.send  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._on_wire is not None and self._pending.get(self._on_wire.utterance_id) is not self._on_wire:
                await send(protocol.cancel())  # dropped locally (shutdown) while the server had it open
                self._on_wire = None
            while (utterance := self._next_to_send()) is not None:
                if not utterance.sent_start:
                    await send(protocol.start(utterance.utterance_id))
                    utterance.sent_start = True
                    self._on_wire = utterance
                while utterance.sent_chunks < len(utterance.chunks):
                    await send(utterance.chunks[utterance.sent_chunks])
                    utterance.sent_chunks += 1
                if not utterance.closed:
                    break  # more audio is coming; it is the last utterance
                await send(protocol.stop())
                utterance.sent_stop = True
                utterance.deadline = loop.time() + self.settings.final_timeout_s
                self._on_wire = None
                if utterance.resend:  # a segment failed while it was still streaming: send it all again
                    utterance.resend = False
                    utterance.rewind()

    async def _receive_loop(self, websocket: object) -> None:
        async for raw in websocket:  # type: ignore[attr-defined]
            try:
                message = protocol.parse_message(raw)
            except protocol.ProtocolError as error:
                log.warning("ignoring a message from the server: %s", error)
                continue
            self._handle(message)

    def _handle(self, message: protocol.ServerMessage) -> None:
        if isinstance(message, protocol.Final):
            self._on_server_final(message)
        elif isinstance(message, protocol.Partial):
            if self._on_partial is not None and message.utterance_id is not None:
                found = self._find(message.utterance_id)
                if found is not None:
                    self._on_partial(message.utterance_id, message.text)
        elif isinstance(message, protocol.ServerError):
            self._check_error(message)

    def _find(self, segment_id: str) -> tuple[_Utterance, int] | None:
        """The pending utterance and segment number of "X" (segment 1) or of a continuation "X.n"."""
        utterance = self._pending.get(segment_id)
        if utterance is not None:
            return utterance, 1
        base, _, number = segment_id.rpartition(".")
        if base and number.isdigit() and int(number) >= 2:
            utterance = self._pending.get(base)
            if utterance is not None:
                return utterance, int(number)
        return None

    def _check_error(self, error: protocol.ServerError) -> None:
        if error.code == "unauthorized":
            raise AuthRefused(f"the server refused the token ({error.message}): set --token (or `token` in the "
                              "config file) to the server's token")
        if error.code == "busy":
            raise LinkError(f"the server is busy ({error.message}); retrying")
        found = self._find(error.utterance_id) if error.utterance_id else None
        if error.code == "too_long" and found is not None:
            utterance, segment = found
            utterance.cuts = max(utterance.cuts, segment)
            log.info("utterance %s was cut at the server's length limit; its rest follows as %s",
                     error.utterance_id, utterance.segment_id(segment + 1))
            return
        if error.code == "engine" and found is not None:
            self._on_engine_error(*found, error.message)
            return
        log.warning("server error %s for utterance %s: %s", error.code, error.utterance_id, error.message)

    def _on_engine_error(self, utterance: _Utterance, segment: int, message: str) -> None:
        """The server could not decode a stopped segment: send the utterance again once, then give up on it."""
        if segment in utterance.segments or utterance.failed is not None:
            return  # stale: that segment's final arrived from another attempt
        if utterance.replays >= self.settings.max_replays:
            log.error("decoding %s failed again (%s); giving up on it", utterance.segment_id(segment), message)
            utterance.failed = f"the server could not transcribe it: {message}"
            utterance.deadline = None
            self._flush()
            return
        utterance.replays += 1
        log.warning("decoding %s failed (%s); sending the utterance again", utterance.segment_id(segment), message)
        if utterance.sent_stop:
            utterance.rewind()
        else:
            utterance.resend = True
        self._dirty.set()

    def _on_server_final(self, final: protocol.Final) -> None:
        segment_id = final.utterance_id
        if segment_id is None:  # an original-protocol server: finals come in order
            segment_id = next((u.utterance_id for u in self._pending.values()
                               if u.sent_stop and not u.complete and u.failed is None), None)
            if segment_id is None:
                log.warning("a final without id and no utterance waiting for one: %r", final.text[:80])
                return
        if segment_id in self._delivered:
            log.info("duplicate final for %s ignored (a replay answered twice)", segment_id)
            return
        found = self._find(segment_id)
        if found is None:
            log.warning("final for unknown utterance %s ignored", segment_id)
            return
        utterance, segment = found
        if utterance.failed is not None or segment in utterance.segments:
            return
        utterance.segments[segment] = protocol.Final(segment_id, final.text, final.language)
        if segment > utterance.cuts:  # the server announces a cut (too_long) before the cut segment's final
            utterance.last_segment = segment
        if utterance.complete:
            utterance.deadline = None
        self._flush()

    def _flush(self) -> None:
        """Deliver finals in utterance order: a later final waits for the replay of an earlier one."""
        while self._pending:
            head = next(iter(self._pending.values()))
            while head.delivered + 1 in head.segments:
                head.delivered += 1
                final = head.segments[head.delivered]
                segment_id = head.segment_id(head.delivered)
                self._remember(segment_id)
                self._on_final(segment_id, final.text, final.language)
            if head.complete:
                del self._pending[head.utterance_id]
            elif head.failed is not None and head.closed:
                del self._pending[head.utterance_id]
                self._on_failed(head.utterance_id, head.audio, head.failed)
            else:
                break
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
                    if u.failed is None and not u.complete and u.deadline is not None and u.deadline <= now]
            for utterance in late:
                utterance.deadline = None
                if utterance.replays < self.settings.max_replays:
                    utterance.replays += 1
                    log.warning("no final for %s within %.1f s; reconnecting to replay it",
                                utterance.utterance_id, self.settings.final_timeout_s)
                    self.reconnect()
                else:
                    log.error("no final for %s after %d replay(s); giving up on it",
                              utterance.utterance_id, utterance.replays)
                    utterance.failed = "no transcript from the server"
            if late:
                self._flush()


def _websocket_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import WebSocketException

    return (WebSocketException,)
