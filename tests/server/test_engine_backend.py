"""asr_server with the vllm backend against the fake engine: real sessions, streaming, HTTP, the engine faked
only at its API (dictation_devtools/fake_engine.py)."""

from __future__ import annotations

import asyncio
import itertools
import json

import numpy as np
import pytest
from websockets.asyncio.client import connect

from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.polling import wait_for
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import dictate, recv_until, run, send_utterance


def constant_audio(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


@pytest.fixture
def engine(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint) as fake:
        yield fake


def engine_server(checkpoint, engine, **overrides):
    return running_server(checkpoint, backend="vllm", engine_url=engine.url, **overrides)


def test_steps_go_as_chat_completions_and_the_final_is_parsed(tiny_checkpoint, engine):
    with engine_server(tiny_checkpoint, engine) as server:
        status, health = server.health()
        messages = run(dictate(server.url, [constant_audio(1000, 2.5)],
                               hello={"language": "chinese", "context": "术语 Qwen"}, ids=["x"], realtime=4.0))
    assert status == 200 and health["engine"]["reachable"] is True and health["engine"]["model"] == \
        engine.served_model
    assert messages[0] == {"type": "ready", "protocol": 1, "model": engine.served_model, "backend": "vllm",
                           "silence": True}
    final = messages[-1]
    assert final == {"type": "final", "id": "x", "text": "amp1000 n40000", "language": "Chinese"}
    calls = engine.calls_with("done")
    assert calls and all(call.body["model"] == engine.served_model for call in calls)
    assert all("术语 Qwen" in call.prompt and call.assistant_prefix.startswith("language Chinese<asr_text>")
               for call in calls), "glossary in the system turn, forced language prefilled"
    # Partials at the lower priority, the final at the top one (vLLM serves lower values first).
    assert calls[-1].priority == 0 and calls[-1].audio.size == 40000
    assert {call.priority for call in calls[:-1]} == {1}


def test_a_detected_language_is_parsed_from_the_answer(tiny_checkpoint, engine):
    engine.answer = lambda call: "language English<asr_text>hello world"
    with engine_server(tiny_checkpoint, engine) as server:
        messages = run(dictate(server.url, [constant_audio(500, 1.5)], ids=["a"]))
    assert messages[-1] == {"type": "final", "id": "a", "text": "hello world", "language": "English"}


def test_stop_aborts_the_partial_in_flight_and_sends_the_final_at_once(tiny_checkpoint, engine):
    # Partials take 30 s at the engine; the final takes none. Without the abort the final would wait for the
    # partial (one step in flight per utterance).
    engine.decode_seconds = lambda call: 30.0 if call.priority != 0 else 0.0

    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(json.dumps({"event": "start", "id": "u"}))
            await websocket.send(constant_audio(700, 1.2))
            deadline = asyncio.get_running_loop().time() + 20
            while engine.running == 0:  # the partial is at the engine
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
            await websocket.send(json.dumps({"event": "stop"}))
            return await recv_until(websocket, "final", timeout=10)

    with engine_server(tiny_checkpoint, engine) as server:
        messages = run(scenario(server.url))
        _, health = server.health()
    assert messages[-1]["text"] == "amp700 n19200"
    assert wait_for(lambda: engine.calls_with("aborted"), 60)  # the engine notices the closed connection on its own time
    aborted = engine.calls_with("aborted")
    assert len(aborted) == 1 and aborted[0].priority == 1, "the partial was aborted at the engine"
    assert health["engine"]["aborted"] == 1


def test_only_one_step_per_utterance_is_at_the_engine(tiny_checkpoint, engine):
    engine.decode_seconds = lambda call: 0.05

    async def scenario(url: str) -> None:
        async with connect(url) as websocket:
            await send_utterance(websocket, constant_audio(300, 6.0), utterance_id="u", realtime=8.0)
            await recv_until(websocket, "final")

    with engine_server(tiny_checkpoint, engine) as server:
        run(scenario(server.url))
    calls = sorted(engine.calls, key=lambda call: call.arrival)
    answered = [call for call in calls if call.outcome == "done"]
    for earlier, later in itertools.pairwise(answered):
        assert earlier.finished is not None and earlier.finished <= later.arrival, "two steps overlapped"
    # The one exception: stop aborts the partial in flight, and the final is sent without waiting for the
    # engine to notice the closed connection.
    # (The aborted partial may even reach the engine after the final: its request was cancelled mid-send.)
    aborted = [call for call in calls if call.outcome == "aborted"]
    assert all(call.priority == 1 for call in aborted) and len(aborted) <= 1
    finals = [call for call in calls if call.priority == 0]
    assert len(finals) == 1 and finals[0].outcome == "done" and finals[0].audio.size == 96000


def test_a_start_context_reaches_the_system_message_after_the_glossary_for_that_utterance_only(tiny_checkpoint,
                                                                                                engine):
    """The focused app's text (start's "context") is in the rendered prompt of its own utterance, after the
    hello's glossary, and not in the next utterance's."""

    async def session(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(json.dumps({"event": "hello", "context": "术语 Qwen"}))
            await recv_until(websocket, "ready")
            await websocket.send(json.dumps({"event": "start", "id": "a",
                                             "context": "Dear Ms Okonkwo, about the Lagos invoice"}))
            await websocket.send(constant_audio(700, 1.0))
            await websocket.send(json.dumps({"event": "stop"}))
            first = (await recv_until(websocket, "final"))[-1]
            await send_utterance(websocket, constant_audio(900, 1.0), utterance_id="b")
            return [first, (await recv_until(websocket, "final"))[-1]]

    with engine_server(tiny_checkpoint, engine) as server:
        finals = run(session(server.url))
    assert [final["id"] for final in finals] == ["a", "b"]
    system = [call.prompt.split("<|im_start|>user")[0] for call in engine.calls_with("done")]
    first = [turn for turn in system if "Okonkwo" in turn]
    assert first and all(turn.index("术语 Qwen") < turn.index("Dear Ms Okonkwo, about the Lagos invoice")
                         for turn in first)
    assert all("术语 Qwen" in turn for turn in system)
    assert any("Okonkwo" not in turn for turn in system)  # utterance b decoded without it
