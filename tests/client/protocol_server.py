"""A small protocol-v1 server for client tests: scripted transcripts and injectable faults.

It speaks the wire protocol only (no model), through dictation_core.protocol like both programs, so client tests
can drop the connection mid-utterance, withhold a final, answer twice or go away and come back, and check what
the client sent: faults the real server never makes. Where no fault is needed, tests use the real asr_server
with a stand-in backend instead. tests/conformance checks that, faults aside, it behaves as the spec says. It runs its own asyncio loop in a
background thread so that tests can drive the client from the main thread or a subprocess.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from asr_server.auth import token_matches
from dictation_core import protocol
from dictation_devtools.servers import free_port

MAX_CONTEXT_CHARS = 2000  # asr_server's default --max-context-chars
Transcriber = Callable[[str, bytes], str]


@dataclass
class Faults:
    """What to break. Counters are consumed as faults fire, so "once" faults heal by themselves."""

    drop_after_bytes: int | None = None  # abort the TCP connection once an utterance has this much audio ...
    drops: int = 0  # ... this many times
    withhold_finals: int = 0  # swallow this many finals (the client must time out and replay)
    withhold_ids: set[str] = field(default_factory=set)  # never answer these utterances
    duplicate_finals: bool = False  # send every final twice
    refuse_token: str | None = None  # require this bearer token (HTTP 401 otherwise)
    busy_handshakes: int = 0  # answer this many handshakes with HTTP 503 (server full or loading)
    engine_failures: int = 0  # answer this many stops with an `engine` error instead of a final
    engine_fail_ids: set[str] = field(default_factory=set)  # ... and every stop of these ids
    engine_fail_first: bool = False  # every stop of the first utterance answered (its replays too), whatever the
    # order the others arrive in (ids are random, so engine_fail_ids cannot name it in advance)
    max_utterance_bytes: int | None = None  # cut like the real server: too_long, final so far, rest as "<id>.2"
    # Hostile: close every session right after `ready` (with this close code), or send this raw text instead of
    # each final (a 5 MB final, a 5,000-digit number, deep nesting).
    close_after_ready: int | None = None
    reply_instead_of_final: str | None = None


@dataclass
class Record:
    """What the server saw."""

    connections: int = 0
    connected_at: list[float] = field(default_factory=list)  # time.monotonic() of each connection
    handshakes: int = 0  # HTTP upgrade requests, refused ones included
    hellos: list[dict] = field(default_factory=list)
    starts: collections.Counter = field(default_factory=collections.Counter)
    start_contexts: dict[str, str | None] = field(default_factory=dict)  # the last start's context, per id
    audio: dict[str, list[bytes]] = field(default_factory=lambda: collections.defaultdict(list))  # per attempt
    finals_sent: list[tuple[str, str]] = field(default_factory=list)
    engine_errors: int = 0
    largest_frame: int = 0  # bytes of the largest binary frame received



class ProtocolServer:
    """Start with `with ProtocolServer(transcribe) as server:`; `server.url` is the ws:// address."""

    def __init__(self, transcribe: Transcriber, faults: Faults | None = None, port: int | None = None,
                 max_context_chars: int = MAX_CONTEXT_CHARS) -> None:
        self.transcribe = transcribe
        self.max_context_chars = max_context_chars
        self.faults = faults or Faults()
        self.record = Record()
        self._first_answered = ""  # the first utterance answered (Faults.engine_fail_first)
        self.port = port or free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="protocol-server", daemon=True)
        self._server = None
        self._lock = threading.Lock()

    def __enter__(self) -> ProtocolServer:
        self._thread.start()
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def up(self) -> None:
        """Listen (again) on the same port."""
        asyncio.run_coroutine_threadsafe(self._up(), self._loop).result(10)

    def down(self) -> None:
        """Stop listening and drop every connection (a server restart or crash)."""
        asyncio.run_coroutine_threadsafe(self._down(), self._loop).result(10)

    async def _up(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", self.port, process_request=self._check_auth)

    async def _down(self) -> None:
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
            self._server = None

    def _check_auth(self, connection, request):
        self.record.handshakes += 1
        if self.faults.busy_handshakes > 0:
            self.faults.busy_handshakes -= 1
            return connection.respond(503, "server busy: 8 sessions already (--max-sessions)\n")
        token = self.faults.refuse_token
        if token is None or token_matches(token, request):
            return None
        return connection.respond(401, "bad token\n")

    async def _handle(self, websocket) -> None:
        """Protocol v1 as docs/protocol.md says (the conformance suite checks it), plus the injected faults."""
        self.record.connections += 1
        self.record.connected_at.append(time.monotonic())
        state = _Open()
        async for message in websocket:
            if isinstance(message, bytes):
                if not await self._audio(websocket, state, message):
                    return
                continue
            try:
                event = protocol.parse_event(message, max_context_chars=self.max_context_chars)
            except protocol.ProtocolError as error:
                await websocket.send(protocol.error(error.code, error.message))
                continue
            if isinstance(event, protocol.Hello):
                self.record.hellos.append(json.loads(message))
                await websocket.send(protocol.ready("script", "test"))
                if self.faults.close_after_ready is not None:
                    await websocket.close(self.faults.close_after_ready, "injected: closing after hello")
                    return
            elif isinstance(event, protocol.Start):
                if state.current is not None:
                    previous = state.current
                    await self._finalize(websocket, previous, bytes(state.buffer))
                    await websocket.send(protocol.error(protocol.BAD_MESSAGE, f"start while {previous} was open: it "
                                                        "was stopped", previous))
                state.number += 1
                state.base = state.current = event.utterance_id or f"u{state.number}"
                state.segment, state.buffer = 1, bytearray()
                self.record.starts[state.current] += 1
                self.record.start_contexts[state.current] = event.context
            elif state.current is None:
                await websocket.send(protocol.error(protocol.BAD_MESSAGE, "stop or cancel without an open utterance"))
            elif isinstance(event, protocol.Stop):
                await self._finalize(websocket, state.current, bytes(state.buffer))
                state.current, state.buffer = None, bytearray()
            elif isinstance(event, protocol.Cancel):
                state.current, state.buffer = None, bytearray()
            # a Silence event is a hint this server ignores, as the spec allows

    async def _audio(self, websocket, state: _Open, message: bytes) -> bool:
        """Take one audio frame; False when a fault dropped the connection."""
        self.record.largest_frame = max(self.record.largest_frame, len(message))
        if state.current is None or len(message) % 2:
            await websocket.send(protocol.error(protocol.BAD_MESSAGE, "audio before start, or not whole int16 "
                                                "samples"))
            return True
        limit = self.faults.max_utterance_bytes
        if limit is not None and len(state.buffer) + len(message) > limit:
            # Like asr_server's session: too_long first, then the final of the part so far.
            room = limit - len(state.buffer)
            state.buffer += message[:room]
            message = message[room:]
            await websocket.send(protocol.error(protocol.TOO_LONG, "over the limit", state.current))
            await self._finalize(websocket, state.current, bytes(state.buffer))
            state.segment += 1
            state.current, state.buffer = f"{state.base}.{state.segment}", bytearray()
        state.buffer += message
        drop_at = self.faults.drop_after_bytes
        if drop_at is not None and self.faults.drops > 0 and len(state.buffer) >= drop_at:
            self.faults.drops -= 1
            self.record.audio[state.current].append(bytes(state.buffer))
            websocket.transport.abort()  # like a network failure: no close frame
            return False
        return True

    async def _finalize(self, websocket, current: str, audio: bytes) -> None:
        """Answer a stopped (or cut) segment: its final, or one of the injected faults instead."""
        self.record.audio[current].append(audio)
        text = self.transcribe(current, audio)
        if current in self.faults.withhold_ids:
            return
        if self.faults.withhold_finals > 0:
            self.faults.withhold_finals -= 1
            return
        if self.faults.engine_fail_first and not self._first_answered:
            self._first_answered = current
        if (current in self.faults.engine_fail_ids or self.faults.engine_failures > 0
                or (self.faults.engine_fail_first and current == self._first_answered)):
            self.faults.engine_failures = max(0, self.faults.engine_failures - 1)
            self.record.engine_errors += 1
            await websocket.send(protocol.error(protocol.ENGINE, "decoding failed (injected); send it again",
                                                current))
            return
        if self.faults.reply_instead_of_final is not None:
            await websocket.send(self.faults.reply_instead_of_final)
            return
        for _ in range(2 if self.faults.duplicate_finals else 1):
            await websocket.send(protocol.final(current, text, "English"))
            self.record.finals_sent.append((current, text))


@dataclass
class _Open:
    """One connection's open utterance: its id ("X", or "X.2" after a cut), its audio, and ids handed out."""

    current: str | None = None
    base: str = ""
    segment: int = 1
    buffer: bytearray = field(default_factory=bytearray)
    number: int = 0


def phrase_transcriber(samples: np.ndarray, phrases: list, texts: list[str] | None = None,
                       rate: int = 16_000) -> Transcriber:
    """Return the text of the phrase the utterance's audio overlaps most (the audio is an exact slice of
    `samples`, since WAV frames are fed unchanged), so the test knows exactly what the client must output."""
    texts = texts or [phrase.text for phrase in phrases]
    raw = samples.tobytes()

    def transcribe(utterance_id: str, audio: bytes) -> str:
        pcm = np.frombuffer(audio, dtype=np.int16)
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 100)
        if not loud.size:
            return ""
        first = int(loud[0])
        probe = pcm[first : first + 1024].tobytes()
        offset = raw.find(probe)
        while offset != -1 and offset % 2:
            offset = raw.find(probe, offset + 1)
        if offset < 0:
            return "?"
        start = (offset // 2 - first) / rate
        end = start + len(pcm) / rate
        overlaps = [max(0.0, min(end, p.end_s) - max(start, p.start_s)) for p in phrases]
        best = int(np.argmax(overlaps))
        return texts[best] if overlaps[best] > 0 else ""

    return transcribe


@contextlib.contextmanager
def serving(transcribe: Transcriber, faults: Faults | None = None) -> Iterator[ProtocolServer]:
    with ProtocolServer(transcribe, faults) as server:
        yield server
