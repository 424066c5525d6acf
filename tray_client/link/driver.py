"""The WebSocket link to asr_server: the asyncio driver around `LinkCore` (link/core.py), which holds the rules.

The driver connects (and reconnects with the backoff of link/backoff.py, slept in link/reconnects.py), writes what the core says to send, feeds it what the
server says, ticks it for deadlines, and carries out its actions: hand a final to `on_final` (then acknowledge
it, so a final the consumer could not take is offered again), hand a failed utterance's audio to `on_failed`,
reconnect, or drop a session the server refused.

Connection errors, and what the driver does about them:
- HTTP 503 at the handshake (server loading or full) and `busy`: retried with capped backoff.
- A session the server accepts and then ends without a final (a crash after `hello`, a reply over `MAX_MESSAGE_BYTES`,
  a close): backed off too, up to 30 s; after a few in a row the status says "the server keeps closing the
  connection: ..." (and `on_notice` tells it once, code "server_unstable"), and each utterance on such
  connections is replayed a bounded number of times (link/core.py MAX_DROP_REPLAYS), then kept as a recording.
- HTTP 401/403 or `unauthorized`: retrying cannot help, so the link stops and reports an error status until
  `configure` (a new token) or `reconnect` is called.
- No `ready` needed: streaming starts right after the handshake (an original-protocol server never sends one).

Threading: everything here runs on the pipeline's asyncio thread. `open` / `append` / `close` are plain calls
that record audio and wake the sender; the sender task is the only writer to the socket, the receiver the only
reader. Both long-lived tasks (the connection loop and the deadline ticker) run under `supervised`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tray_client._supervise import FaultCallback, supervised
from tray_client.events import NoticeCode
from tray_client.link import core as core_module
from tray_client.link.actions import (
    TOKEN_ADVICE,
    Action,
    AuthRefused,
    Deliver,
    Disconnect,
    Fail,
    LinkError,
    Reconnect,
    ShowPartial,
    Tell,
    Unsent,
)
from tray_client.link.core import LinkCore, LinkSettings
from tray_client.link.journal import AudioJournal
from tray_client.link.reconnects import Reconnects

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 5.0
MAX_MESSAGE_BYTES = 2**22  # a final is a few kB; 4 MiB is far past any transcript the server's limits allow
WATCH_INTERVAL_S = 0.1
MAX_FRAME_BYTES = core_module.MAX_FRAME_BYTES
BACKOFF_MAX_S = core_module.BACKOFF_MAX_S
NOT_CONNECTED_YET = "not connected yet"
"""The link's detail before its first connection attempt has ended (not a failure: the tray says nothing)."""

__all__ = ["AuthRefused", "Link", "LinkError", "LinkSettings", "LinkStatus"]


@dataclass(frozen=True)
class LinkStatus:
    """Connection state for the UI: `error` means the user must act (e.g. a refused token)."""

    connected: bool
    detail: str = ""
    error: bool = False
    unstable: bool = False  # the server keeps ending sessions without a transcript (`detail` says how)


FinalCallback = Callable[[str, str, str], None]  # utterance id, raw text, language
PartialCallback = Callable[[str, str], None]
FailedCallback = Callable[[str, bytes, str], None]  # utterance id, its audio, why
StatusCallback = Callable[[LinkStatus], None]
NoticeCallback = Callable[[str, str, NoticeCode], None]  # level, message, code (events.Notice.code)


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
        on_fault: FaultCallback | None = None,
        on_notice: NoticeCallback | None = None,
        journal: AudioJournal | None = None,
    ) -> None:
        self._core = LinkCore(settings, journal)
        self._on_final = on_final
        self._on_failed = on_failed
        self._on_status = on_status
        self._on_partial = on_partial
        self._on_fault = on_fault
        self._on_notice = on_notice or (lambda level, message, code: log.warning("%s", message))
        self._dirty = asyncio.Event()
        self._retry = Reconnects()  # the reconnect signal, this attempt's facts, the sleep before the next
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = asyncio.Event()  # some utterance is unfinished: its deadlines need the tick
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._status = LinkStatus(False, NOT_CONNECTED_YET)

    # ----- called by the pipeline (same loop) -----
    @property
    def settings(self) -> LinkSettings:
        return self._core.settings

    @property
    def connected(self) -> bool:
        return self._core.connected

    @property
    def status(self) -> LinkStatus:
        return self._status

    @property
    def unfinished(self) -> int:
        """Utterances whose final has not been delivered yet (open ones included)."""
        return self._core.unfinished

    @property
    def awaiting_final(self) -> int:
        """Closed utterances still waiting for their final."""
        return self._core.awaiting_final

    def open(self, utterance_id: str, context: str = "") -> None:
        """Start an utterance (with the focused app's `context`); its audio is kept until its final is delivered."""
        self._core.open(utterance_id, context)
        self._changed()

    def append(self, utterance_id: str, pcm: bytes) -> None:
        """Add audio (int16 LE mono 16 kHz) to an open utterance."""
        self._apply(self._core.append(utterance_id, pcm))

    def close(self, utterance_id: str) -> None:
        """End an utterance: the server is asked for its final."""
        self._apply(self._core.close(utterance_id))

    def silence(self, utterance_id: str, silence_ms: int) -> None:
        """The open utterance has been silent this long: the server may decode its final early."""
        self._apply(self._core.silence(utterance_id, silence_ms))

    def reconnect(self) -> None:
        """Drop the connection and connect again now (replays everything unfinished)."""
        self._retry.request()

    def configure(self, settings: LinkSettings) -> None:
        """New URL, token, language or glossary: reconnect with them; unfinished utterances are replayed."""
        self._core.settings = settings
        self.reconnect()

    def start(self) -> None:
        """Start connecting (and reconnecting) in the background on the running loop."""
        if not self._tasks:
            loop = asyncio.get_running_loop()
            fault = self._on_fault or _log_only
            self._tasks = [loop.create_task(supervised("link", self._run, fault), name="link"),
                           loop.create_task(supervised("link-deadlines", self._tick_forever, fault),
                                            name="link-deadlines")]

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every utterance has its final (or was given up); return False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> list[Unsent]:
        """Stop the link; return the utterances that never got a final, with their audio (the caller keeps it)."""
        self._closing = True
        self._retry.request()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        dropped = self._core.drop_all()
        self._idle.set()
        return dropped

    # ----- carrying out the core's actions -----
    def _changed(self) -> None:
        if self._core.unfinished:
            self._idle.clear()
            self._busy.set()
        else:
            self._idle.set()
            self._busy.clear()
        self._dirty.set()

    def _apply(self, actions: list[Action]) -> None:
        queue = collections.deque(actions)
        refused: LinkError | None = None
        while queue:
            action = queue.popleft()
            if isinstance(action, Deliver):
                try:
                    self._on_final(action.segment_id, action.text, action.language)
                except Exception as error:
                    log.exception("handing over the final of %s failed; it is kept and offered again",
                                  action.segment_id)
                    queue.extend(self._core.delivery_failed(action.segment_id, f"{type(error).__name__}: {error}"))
                else:
                    queue.extend(self._core.delivered(action.segment_id))
            elif isinstance(action, Fail):
                _guarded(self._on_failed, action.utterance_id, action.audio, action.why)
            elif isinstance(action, ShowPartial):
                if self._on_partial is not None:
                    _guarded(self._on_partial, action.segment_id, action.text)
            elif isinstance(action, Reconnect):
                self.reconnect()
            elif isinstance(action, Tell):
                _guarded(self._on_notice, action.level, action.message, action.code)
            elif isinstance(action, Disconnect):
                refused = action.error
        self._changed()
        if refused is not None:
            raise refused

    def _set_status(self, status: LinkStatus) -> None:
        if status != self._status:
            self._status = status
            self._on_status(status)

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # With no unfinished utterance nothing can be late: sleep until one opens, not 10 wake-ups a second.
            await self._busy.wait()
            await asyncio.sleep(WATCH_INTERVAL_S)
            self._apply(self._core.tick(loop.time()))

    # ----- the connection loop -----
    async def _run(self) -> None:
        loop, retry = asyncio.get_running_loop(), self._retry
        while not self._closing:
            retry.begin()
            failure: BaseException | None = None
            try:
                await self._connect_and_serve()
            except AuthRefused as error:
                failure = error
                log.error("%s", error)
                self._set_status(LinkStatus(False, str(error), error=True))
            except (OSError, TimeoutError, LinkError) as error:
                failure = error
                self._set_status(LinkStatus(False, f"cannot reach {self.settings.url}: {error}"))
            except _websocket_errors() as error:
                failure = error
                retry.ended = _describe_close(error)
                self._set_status(LinkStatus(False, f"{self.settings.url}: {retry.ended}"))
            except Exception as error:
                # A bug of ours (or a server reply we mishandle) must not end reconnecting for the rest of the
                # day: log it with its traceback, show it, and reconnect; unfinished audio is replayed.
                failure = error
                retry.ended = f"internal error ({type(error).__name__})"
                log.exception("link failed unexpectedly; reconnecting")
                self._set_status(LinkStatus(False, f"internal error ({type(error).__name__}); reconnecting"))
            finally:
                ending = retry.ending(now=loop.time(), answered=self._core.answered,
                                      refused=isinstance(failure, AuthRefused), closing=self._closing)
                lost = self._core.connection_lost(dropped=ending.came_up and not ending.asked, why=ending.why)
            self._apply(lost)
            then = retry.after(ending)
            if self._closing:
                break
            if then.unstable:
                log.warning("%s", then.unstable)
                self._set_status(LinkStatus(False, then.unstable, unstable=True))
                if then.tell:
                    _guarded(self._on_notice, "error", then.unstable, NoticeCode.SERVER_UNSTABLE)
            elif not self._status.error and self._status.connected:
                self._set_status(LinkStatus(False, "connection lost; reconnecting"))
            await retry.sleep(then)

    async def _connect_and_serve(self) -> None:
        """One connection, from the handshake until it drops or a reconnect is asked for."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        settings = self.settings
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else None
        try:
            websocket = await connect(settings.url, additional_headers=headers, open_timeout=OPEN_TIMEOUT_S,
                                      proxy=None, ping_interval=10, ping_timeout=10, close_timeout=1,
                                      max_size=MAX_MESSAGE_BYTES)
        except InvalidStatus as error:
            raise _handshake_error(settings.url, error) from error
        try:
            self._core.connection_made()
            self._retry.up(asyncio.get_running_loop().time())
            self._set_status(LinkStatus(True, f"connected to {settings.url}"))
            log.info("connected to %s; replaying %d unfinished utterance(s)", settings.url, self.unfinished)
            self._dirty.set()
            tasks = [asyncio.ensure_future(self._send_loop(websocket)),
                     asyncio.ensure_future(self._receive_loop(websocket)),
                     asyncio.ensure_future(self._retry.requested())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if websocket.close_code is not None:  # the server closed it (cleanly) rather than us
                self._retry.ended = _describe_close(websocket)
        finally:
            with contextlib.suppress(Exception):
                await websocket.close()

    async def _send_loop(self, websocket: object) -> None:
        send = websocket.send  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        while True:
            self._dirty.clear()
            for frame in self._core.data_to_send(loop.time()):
                await send(frame)
            await self._dirty.wait()

    async def _receive_loop(self, websocket: object) -> None:
        async for raw in websocket:  # type: ignore[attr-defined]
            self._apply(self._core.receive_text(raw))


def _guarded(callback: Callable[..., None], *args: object) -> None:
    """Call one of the pipeline's callbacks; a failure is logged, never raised into the link."""
    try:
        callback(*args)
    except Exception:
        log.exception("a link callback failed (%s)", getattr(callback, "__name__", callback))


def _handshake_error(url: str, error: Exception) -> Exception:
    """What an HTTP refusal of the WebSocket upgrade means for the user."""
    response = error.response  # type: ignore[attr-defined]
    status = response.status_code
    body = response.body.decode("utf-8", "replace").strip()[:200] if response.body else ""
    said = f": {body}" if body else ""
    if status in (401, 403):
        # The server's own hint names its options (a header, ?token=); the user needs where to put the token here.
        return AuthRefused(f"the server at {url} refused the token (HTTP {status}). {TOKEN_ADVICE}")
    if status == 503:
        return LinkError(f"the server is busy or still loading (HTTP 503{said}); retrying")
    return error


def _describe_close(source: object) -> str:
    """What ended a connection, for the user: a close frame's code and reason, or the error's own words.
    `source`: a ConnectionClosed error or the closed connection (both carry the codes)."""
    from websockets.exceptions import ConnectionClosed

    frame = None
    if isinstance(source, ConnectionClosed):
        if source.sent is not None and source.sent.code == 1009:
            return f"a reply from the server was over the client's limit of {MAX_MESSAGE_BYTES // 2**20} MiB"
        frame = source.rcvd
        if frame is None:
            return "the connection broke without a close frame" if source.sent is None else str(source)
    elif isinstance(source, Exception):
        return str(source)
    else:
        code, reason = getattr(source, "close_code", None), getattr(source, "close_reason", "")
        return f"it closed the connection (code {code}{': ' + reason if reason else ''})"
    return f"it closed the connection (code {frame.code}{': ' + frame.reason if frame.reason else ''})"


def _log_only(name: str, error: BaseException | None) -> None:
    """Without an owner to tell, `supervised` has already logged the failure."""


def _websocket_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import WebSocketException

    return (WebSocketException,)
