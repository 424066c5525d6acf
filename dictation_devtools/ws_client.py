"""A minimal protocol v1 client for server tests: send audio as a client would, collect what comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FRAME_BYTES = 1024  # 512 samples, 32 ms: what the tray client sends


async def recv_json(websocket: ClientConnection, timeout: float = 30.0) -> dict[str, Any]:
    """The next server message as a dict."""
    return json.loads(await asyncio.wait_for(websocket.recv(), timeout))


async def recv_until(websocket: ClientConnection, kind: str, timeout: float = 60.0,
                     utterance_id: str | None = None) -> list[dict[str, Any]]:
    """Messages up to and including the first of type `kind` (with `utterance_id`, if given)."""
    messages: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await recv_json(websocket, max(0.1, deadline - loop.time()))
        messages.append(message)
        if message.get("type") == kind and (utterance_id is None or message.get("id") == utterance_id):
            return messages


async def send_utterance(websocket: ClientConnection, pcm: bytes, *, utterance_id: str | None = None,
                         realtime: float = 0.0, frame_bytes: int = FRAME_BYTES) -> None:
    """start, the audio in frames (paced at `realtime` x real time when > 0), stop."""
    start: dict[str, Any] = {"event": "start"}
    if utterance_id is not None:
        start["id"] = utterance_id
    await websocket.send(json.dumps(start))
    for offset in range(0, len(pcm), frame_bytes):
        frame = pcm[offset:offset + frame_bytes]
        await websocket.send(frame)
        if realtime > 0:
            await asyncio.sleep(len(frame) / 32000 / realtime)
    await websocket.send(json.dumps({"event": "stop"}))


async def dictate(url: str, utterances: Sequence[bytes], *, hello: dict[str, Any] | None = None,
                  ids: Sequence[str] | None = None, realtime: float = 0.0,
                  headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Connect, optionally hello, send each utterance and wait for its final; every message received."""
    received: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers, max_size=None) as websocket:
        if hello is not None:
            await websocket.send(json.dumps({"event": "hello", "protocol": 1, **hello}))
            received.extend(await recv_until(websocket, "ready"))
        for index, pcm in enumerate(utterances):
            utterance_id = ids[index] if ids else None
            await send_utterance(websocket, pcm, utterance_id=utterance_id, realtime=realtime)
            received.extend(await recv_until(websocket, "final", utterance_id=utterance_id))
    return received


def run(coro: Any) -> Any:
    """asyncio.run for tests, with a hard upper bound so a hang fails instead of blocking the suite."""
    return asyncio.run(asyncio.wait_for(coro, 120))
