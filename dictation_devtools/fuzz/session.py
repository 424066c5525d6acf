"""Connections for fuzzing: one that sends a list of messages and counts the answers, one that dictates politely."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dictation_core.protocol import SAMPLE_RATE
from dictation_devtools.fuzz.messages import Oracle, Owed
from dictation_devtools.ws_client import recv_until, send_utterance


@dataclass
class Received:
    """What came back on one fuzz connection (partials are not counted: they depend on timing)."""

    errors: int = 0
    finals: int = 0
    readies: int = 0
    closed: bool = False


# Sent after the fuzz messages: a valid hello (its ready marks the end of the errors) and a cancel (closes an
# utterance left open, or earns one more error).
TRAILER = ('{"event": "hello", "protocol": 1}', '{"event": "cancel"}')


async def fuzz_connection(url: str, messages: list[str | bytes], settle: float = 20.0) -> tuple[Received, Owed]:
    """Send `messages` and the trailer; collect answers until the oracle's debts are paid (or `settle` runs out).

    Errors are sent in order as messages are read, so all are in before the trailer's ready; finals may come
    later (decoding), so wait for them, then a little longer to catch any extra.
    """
    oracle = Oracle()
    for message in [*messages, *TRAILER]:
        oracle.send(message)
    owed = oracle.owed
    received = Received()
    async with connect(url, max_size=None) as websocket:
        loop = asyncio.get_running_loop()
        try:
            for message in [*messages, *TRAILER]:
                await websocket.send(message)
            deadline = loop.time() + settle
            paid_at: float | None = None
            while loop.time() < deadline:
                if paid_at is None and received.readies >= owed.readies and received.finals >= owed.finals \
                        and received.errors >= owed.errors:
                    paid_at = loop.time()
                if paid_at is not None and loop.time() - paid_at > 0.2:
                    break
                try:
                    raw = await asyncio.wait_for(websocket.recv(), 0.1)
                except TimeoutError:
                    continue
                kind = json.loads(raw).get("type")
                if kind == "error":
                    received.errors += 1
                elif kind == "final":
                    received.finals += 1
                elif kind == "ready":
                    received.readies += 1
        except ConnectionClosed:
            received.closed = True
    return received, owed


async def steady_dictation(url: str, utterances: int, seconds: float = 1.5) -> tuple[int, int]:
    """A well-behaved user: real-time-ish utterances with ids; returns (finals received, utterances sent)."""
    pcm = (b"\x10\x02" * SAMPLE_RATE)[: int(seconds * 2 * SAMPLE_RATE)]
    finals = 0
    async with connect(url) as websocket:
        for index in range(utterances):
            await send_utterance(websocket, pcm, utterance_id=f"good{index}", realtime=4.0)
            messages = await recv_until(websocket, "final", utterance_id=f"good{index}", timeout=30)
            finals += sum(1 for m in messages if m.get("type") == "final" and m.get("id") == f"good{index}")
            assert not any(m.get("type") == "error" for m in messages), messages
    return finals, utterances
