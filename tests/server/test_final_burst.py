"""Finals stay fast when many users stop at once (issue 19, item 3): while a final waits at the engine, partials
wait too (counted by the server itself, not from the engine's queue gauge), and partials in flight are aborted."""

from __future__ import annotations

import asyncio
import json

import numpy as np
from websockets.asyncio.client import connect

from asr_server.engine.dispatcher import FINAL_WAIT_SECONDS
from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.polling import wait_for
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import recv_until, run, send_utterance


def pcm(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


async def _stream(websocket, amplitude: int, seconds: float) -> None:
    """Audio in real-time-ish frames without a stop (a user still speaking)."""
    data = pcm(amplitude, seconds)
    for offset in range(0, len(data), 8000):
        await websocket.send(data[offset:offset + 8000])
        await asyncio.sleep(0.05)


def test_while_a_final_waits_no_partial_is_sent(tiny_checkpoint):
    # Finals take 2 s at the engine (a congested engine), partials are instant.
    engine = FakeEngine(tiny_checkpoint, decode_seconds=lambda call: 2.0 if call.priority == 0 else 0.0).start()
    try:
        async def scenario(url: str) -> tuple[list[dict], list[dict]]:
            async with connect(url) as stopper, connect(url) as speaker:
                await send_utterance(stopper, pcm(300, 1.0), utterance_id="stop")
                await asyncio.to_thread(wait_for, lambda: engine.running == 1, 10)
                await speaker.send(json.dumps({"event": "start", "id": "talk"}))
                await _stream(speaker, 500, 1.5)  # while the final waits
                final = await recv_until(stopper, "final", timeout=30)
                await _stream(speaker, 500, 2.0)  # after it
                await speaker.send(json.dumps({"event": "stop"}))
                return final, await recv_until(speaker, "final", timeout=30, utterance_id="talk")

        with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
            stopped, talked = run(scenario(server.url))
            _, health = server.health()
    finally:
        engine.close()
    final_call = next(call for call in engine.calls if call.priority == 0 and call.outcome == "done")
    waiting_from = final_call.arrival + FINAL_WAIT_SECONDS + 0.05
    during = [call for call in engine.calls if call.priority == 1 and waiting_from < call.arrival < final_call.finished]
    after = [call for call in engine.calls if call.priority == 1 and call.arrival > final_call.finished]
    assert stopped[-1]["type"] == "final" and talked[-1]["type"] == "final"
    assert talked[-1]["text"] == "amp500 n56000", "the held partials' audio reached the final"
    assert during == [], "no partial went to the engine while the final waited"
    assert after, "partials resumed once the final was answered"
    assert health["engine"]["held_for_finals"] >= 1


def test_a_partial_in_flight_is_aborted_when_a_final_waits(tiny_checkpoint):
    # Partials take 10 s (a long one in a busy batch), finals 1 s.
    engine = FakeEngine(tiny_checkpoint, decode_seconds=lambda call: 1.0 if call.priority == 0 else 10.0).start()
    try:
        async def scenario(url: str) -> list[dict]:
            async with connect(url) as stopper, connect(url) as speaker:
                await speaker.send(json.dumps({"event": "start", "id": "talk"}))
                await _stream(speaker, 500, 1.0)
                await asyncio.to_thread(wait_for, lambda: engine.running == 1, 10)  # its partial decodes
                await send_utterance(stopper, pcm(300, 1.0), utterance_id="stop")
                await asyncio.to_thread(wait_for, lambda: len(engine.calls_with("aborted")) == 1, 10)
                return await recv_until(stopper, "final", timeout=30)

        with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
            stopped = run(scenario(server.url))
    finally:
        engine.close()
    assert stopped[-1] == {"type": "final", "id": "stop", "text": "amp300 n16000", "language": "English"}
    aborted = engine.calls_with("aborted")
    assert [call.priority for call in aborted] == [1], "the partial was aborted, not the final"
