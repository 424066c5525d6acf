"""A protocol-v1 server on loopback that records exactly the PCM each utterance brings, for fidelity measurements.

It decodes nothing: each stopped utterance gets the final "w<n>" (n counts the stops), so a client that types a
word twice or loses one shows it in its output. It says it takes the `silence` event (as asr_server does), so
the client's speculative end runs as in the product. One asyncio loop in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

from dictation_core import protocol
from dictation_devtools.servers import free_port

MAX_CONTEXT_CHARS = 2000


@dataclass
class Recorded:
    """One utterance as the server received it."""

    utterance_id: str
    pcm: bytearray = field(default_factory=bytearray)
    silences: int = 0
    stopped: bool = False


class RecordingServer:
    """`with RecordingServer() as server:` then point the client at `server.url`; `server.utterances` in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.utterances: list[Recorded] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="recording-server", daemon=True)
        self._server: object | None = None

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._up(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def stopped(self) -> list[Recorded]:
        """The utterances that got a stop, in the order they started (a copy)."""
        with self._lock:
            return [item for item in self.utterances if item.stopped]

    async def _up(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", self.port, max_size=None)

    async def _down(self) -> None:
        server = self._server
        if server is not None:
            server.close(close_connections=True)  # type: ignore[attr-defined]
            await server.wait_closed()  # type: ignore[attr-defined]

    async def _handle(self, websocket) -> None:  # noqa: ANN001 (websockets' connection type)
        current: Recorded | None = None
        async for message in websocket:
            if isinstance(message, bytes):
                if current is not None:
                    current.pcm += message
                continue
            try:
                event = protocol.parse_event(message, max_context_chars=MAX_CONTEXT_CHARS)
            except protocol.ProtocolError as error:
                await websocket.send(protocol.error(error.code, error.message))
                continue
            if isinstance(event, protocol.Hello):
                await websocket.send(protocol.ready("recorder", "recording", silence=True))
            elif isinstance(event, protocol.Start):
                current = Recorded(event.utterance_id or f"u{len(self.utterances) + 1}")
                with self._lock:
                    self.utterances.append(current)
            elif isinstance(event, protocol.Silence) and current is not None:
                current.silences += 1
            elif isinstance(event, protocol.Stop) and current is not None:
                with self._lock:
                    current.stopped = True
                    number = sum(1 for item in self.utterances if item.stopped)
                await websocket.send(protocol.final(current.utterance_id, f"w{number}", "English"))
                current = None
            elif isinstance(event, protocol.Cancel):
                current = None
