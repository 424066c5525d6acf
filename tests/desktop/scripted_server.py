"""A protocol-v1 test server that answers each utterance with the known text of the phrases it contains.

The tray tests feed a WAV as the microphone, and 16 kHz int16 audio reaches the server unchanged, so a phrase
is recognised by finding a few exact sample snippets of it in the utterance's audio: no model, no guessing.
Finals can be delayed (to see "transcribing", or to Quit while one is due) and a token can be required (to
see the error state).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed

# The same exact-snippet matching the server's ScriptedBackend uses; KnownPhrase is re-exported for the tests.
from dictation_devtools.stand_in_backends import KnownPhrase, transcript


@dataclass
class ServerLog:
    """What the server saw and said, for assertions (appended on the server thread, read after waits)."""

    utterances: list[str] = field(default_factory=list)
    finals: list[tuple[str, str]] = field(default_factory=list)
    partials: list[tuple[str, str]] = field(default_factory=list)
    connections: int = 0
    abrupt_closes: int = 0


PARTIAL_EVERY = 16_000  # bytes: a partial every 0.5 s of audio


class ScriptedServer:
    """Run the server on a background thread: `with ScriptedServer(phrases) as server: server.url`."""

    def __init__(
        self,
        phrases: Iterable[KnownPhrase],
        *,
        final_delay_s: float = 0.0,
        token: str | None = None,
        port: int = 0,
        partials: bool = False,
    ) -> None:
        self.phrases = list(phrases)
        self.final_delay_s = final_delay_s
        self.token = token
        self.port = port
        self.partials = partials  # send the first half of the known text as a partial while audio comes
        self.log = ServerLog()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="scripted-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the scripted server did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", self.port) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _session(self, websocket) -> None:
        self.log.connections += 1
        if self.token is not None:
            header = websocket.request.headers.get("Authorization", "")
            if header != f"Bearer {self.token}":
                with contextlib.suppress(ConnectionClosed):
                    await websocket.send(json.dumps({"type": "error", "code": "unauthorized",
                                                     "message": "bad token"}))
                    await websocket.close()
                return
        finals: set[asyncio.Task[None]] = set()
        try:
            await self._receive(websocket, finals)
        except ConnectionClosed:
            self.log.abrupt_closes += 1  # the client was killed or quit without a close frame
        finally:
            # Finals still delayed have nobody to go to: cancel them and wait, so none is left pending when
            # the loop closes ("Task was destroyed but it is pending").
            for task in finals:
                task.cancel()
            await asyncio.gather(*finals, return_exceptions=True)

    async def _receive(self, websocket, finals: set[asyncio.Task[None]]) -> None:
        utterance_id: str | None = None
        pcm = bytearray()
        async for message in websocket:
            if isinstance(message, bytes):
                before = len(pcm)
                pcm.extend(message)
                if self.partials and utterance_id and before // PARTIAL_EVERY != len(pcm) // PARTIAL_EVERY:
                    await self._partial(websocket, utterance_id, bytes(pcm))
                continue
            data = json.loads(message)
            event = data.get("event")
            if event == "hello":
                await websocket.send(json.dumps({"type": "ready", "protocol": 1, "model": "scripted",
                                                 "backend": "test"}))
            elif event == "start":
                utterance_id, pcm = data.get("id"), bytearray()
                self.log.utterances.append(str(utterance_id))
            elif event == "stop":
                text = transcript(bytes(pcm), self.phrases)
                task = asyncio.get_running_loop().create_task(self._final(websocket, utterance_id, text))
                finals.add(task)
                task.add_done_callback(finals.discard)
                utterance_id, pcm = None, bytearray()
            elif event == "cancel":
                utterance_id, pcm = None, bytearray()

    async def _partial(self, websocket, utterance_id: str, pcm: bytes) -> None:
        text = transcript(pcm, self.phrases)
        if text:
            words = text.split()
            half = " ".join(words[: max(1, len(words) // 2)]) if len(words) > 1 else text[: max(1, len(text) // 2)]
            with contextlib.suppress(ConnectionClosed):
                await websocket.send(json.dumps({"type": "partial", "id": utterance_id, "text": half},
                                                ensure_ascii=False))
                self.log.partials.append((utterance_id, half))

    async def _final(self, websocket, utterance_id: str | None, text: str) -> None:
        if self.final_delay_s:
            await asyncio.sleep(self.final_delay_s)
        with contextlib.suppress(ConnectionClosed):  # the client may be going (Quit tests)
            await websocket.send(json.dumps({"type": "final", "id": utterance_id, "text": text,
                                             "language": ""}, ensure_ascii=False))
            self.log.finals.append((str(utterance_id), text))
