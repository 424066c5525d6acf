"""The engine dies and comes back: sessions survive, a final is replayed by the server while the engine is back
within --engine-retry-seconds, and answered with an engine error carrying its id otherwise (the client sends it
again). Nothing is lost silently."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from websockets.asyncio.client import connect

from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.polling import wait_for
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import recv_until, run, send_utterance


def pcm(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


def test_a_final_in_flight_when_the_engine_dies_is_sent_again_when_it_is_back(tiny_checkpoint):
    engine = FakeEngine(tiny_checkpoint, decode_seconds=lambda call: 30.0 if call.priority == 0 else 0.0).start()
    try:
        async def scenario(url: str) -> list[dict]:
            async with connect(url) as websocket:
                await send_utterance(websocket, pcm(400, 1.0), utterance_id="a")
                await asyncio.to_thread(wait_for, lambda: engine.running == 1, 10)  # the final is decoding
                engine.kill()
                engine.decode_seconds = lambda call: 0.0
                threading.Timer(1.0, engine.start).start()  # back within --engine-retry-seconds
                return await recv_until(websocket, "final", timeout=30)

        with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url,
                            engine_retry_seconds=10) as server:
            messages = run(scenario(server.url))
            _, health = server.health()
    finally:
        engine.close()
    assert [m["type"] for m in messages] == ["final"] and messages[0]["text"] == "amp400 n16000"
    assert health["engine"]["reachable"] is True and health["engine"]["last_decode_ok"] is True


def test_while_the_engine_stays_down_a_final_is_an_engine_error_with_its_id_and_the_session_goes_on(
        tiny_checkpoint):
    engine = FakeEngine(tiny_checkpoint).start()
    try:
        async def scenario(url: str, server) -> tuple[list[dict], list[dict]]:
            async with connect(url) as websocket:
                engine.kill()
                await send_utterance(websocket, pcm(600, 1.0), utterance_id="lost?")
                failed = await recv_until(websocket, "error", timeout=30)
                engine.start()
                await asyncio.to_thread(wait_for, lambda: server.health()[0] == 200, 10)
                await send_utterance(websocket, pcm(600, 1.0), utterance_id="lost?")  # what the client does
                return failed, await recv_until(websocket, "final", timeout=30)

        with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url,
                            engine_retry_seconds=0.5) as server:
            failed, replayed = run(scenario(server.url, server))
    finally:
        engine.close()
    error = failed[-1]
    assert error["code"] == "engine" and error["id"] == "lost?" and "send it again" in error["message"]
    assert "unreachable" in error["message"]
    assert replayed[-1] == {"type": "final", "id": "lost?", "text": "amp600 n16000", "language": "English"}


def test_an_engine_without_priority_scheduling_still_serves_partials_and_finals(tiny_checkpoint):
    # vLLM 0.26 accepts the field and ignores it; older vLLM refused it with 400 and the server stops sending it.
    for refuses in (False, True):
        with FakeEngine(tiny_checkpoint, priority_scheduling=False, refuses_priority=refuses) as engine:
            async def scenario(url: str) -> list[dict]:
                async with connect(url) as websocket:
                    await send_utterance(websocket, pcm(800, 2.5), utterance_id="p", realtime=4.0)
                    return await recv_until(websocket, "final")

            with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
                messages = run(scenario(server.url))
                _, health = server.health()
        assert messages[-1]["text"] == "amp800 n40000"
        assert any("Priority scheduling is not enabled" in refusal for refusal in engine.refused) is refuses
        assert health["engine"]["priority"] is not refuses, "the server stops sending a refused field"
