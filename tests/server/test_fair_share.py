"""One connection's share of the engine: a bounded number of steps sent, a bounded queue, busy past it."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import numpy as np

from asr_server.engine.base import DecodeRequest, StepOutput
from asr_server.fair_share import StepQuota
from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import recv_until, run, send_utterance
from tests.server._recording_engine import RecordingEngine

ANSWER = StepOutput(raw="x", language="English", text="x")


def job(name: str, urgent: bool = False) -> DecodeRequest:
    return DecodeRequest(label=name, context="", language=None, audio=np.zeros(1, np.float32), prefix_raw=None,
                         rollback_tokens=0, urgent=urgent)


def test_quota_sends_up_to_its_share_holds_the_rest_and_refuses_past_the_bound():
    engine = RecordingEngine()
    quota = StepQuota(engine, max_active=2, max_held=2)
    futures = [quota.offer(x) for x in (job("a"), job("b"), job("c"), job("d", urgent=True), job("e"))]
    a, b, c, _, e = futures
    assert e is None and None not in futures[:4]
    assert [r.label for r in engine.jobs] == ["a", "b"] and quota.held == 2
    engine.answer(ANSWER)
    assert a.result() is ANSWER
    assert [r.label for r in engine.jobs] == ["b", "d"], "a held final goes before a held partial"
    b.cancel()
    assert [r.label for r in engine.cancelled] == ["b"], "a withdrawn step is aborted at the engine"
    assert [r.label for r in engine.jobs] == ["d", "c"], "a withdrawn step frees its slot"
    c.cancel()
    assert quota.active == 1 and quota.held == 0


def test_a_held_step_is_promoted_in_place_and_a_sent_one_by_the_engines_rule():
    engine = RecordingEngine(promotes=False)
    quota = StepQuota(engine, max_active=1, max_held=1)
    first, second = quota.offer(job("a")), quota.offer(job("b"))
    assert first is not None and second is not None
    audio = np.ones(5, np.float32)
    assert quota.promote(first, audio) is False, "a step already sent is the engine's to promote"
    assert quota.promote(second, audio) is True
    promoted = quota.request(second)
    assert promoted is not None and promoted.urgent and promoted.audio is audio and promoted.label == "b"
    engine.promotes = True
    assert quota.promote(first, audio) is True and engine.jobs[0].urgent and engine.jobs[0].audio is audio


def pcm(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


def test_a_flood_from_one_connection_never_puts_more_than_its_share_ahead_of_another_final(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint, decode_seconds=lambda call: 0.05, max_running=2) as engine:

        async def flood(url: str) -> list[dict]:
            async with running_client(url) as websocket:
                for n in range(60):  # each start finalizes the previous utterance
                    await websocket.send(json.dumps({"event": "start", "id": f"f{n}"}))
                    await websocket.send(pcm(100, 0.3))
                await websocket.send(json.dumps({"event": "stop"}))
                messages: list[dict] = []
                answered: set[str] = set()
                while len(answered) < 60:
                    message = json.loads(await asyncio.wait_for(websocket.recv(), 30))
                    messages.append(message)
                    if message["type"] == "final" or message.get("code") == "busy":
                        answered.add(message["id"])
                return messages

        async def victim(url: str) -> list[dict]:
            async with running_client(url) as websocket:
                await asyncio.sleep(0.2)  # the flood is under way
                await send_utterance(websocket, pcm(9000, 0.5), utterance_id="v")
                return await recv_until(websocket, "final", timeout=30)

        async def both(url: str) -> tuple[list[dict], list[dict]]:
            return await asyncio.gather(flood(url), victim(url))

        with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, max_session_steps=2,
                            max_session_backlog=4) as server:
            flooded, victims = run(both(server.url))
        calls = list(engine.calls)
    assert victims[-1]["type"] == "final" and victims[-1]["text"] == "amp9000 n8000"
    busy = [m for m in flooded if m.get("code") == "busy"]
    finals = [m for m in flooded if m["type"] == "final"]
    assert busy and finals and len(busy) + len(finals) == 60, "every flooded utterance is answered, none lost"
    assert all(m["id"].startswith("f") and "send it again" in m["message"] for m in busy)
    (final_call,) = [call for call in calls if call.audio.size and round(float(call.audio[0]) * 32768) == 9000]
    ahead = [call for call in calls if call is not final_call and call.arrival <= final_call.arrival
             and (call.finished is None or call.finished > final_call.arrival)]
    assert len(ahead) <= 2, f"{len(ahead)} flood steps were at the engine ahead of the other user's final"


def running_client(url: str):
    from websockets.asyncio.client import connect

    return connect(url, max_size=None)


def test_a_held_final_behind_held_partials_of_real_audio_is_released_first():
    """Held steps carry their audio: the final taken out of the queue must be found by identity. By equality
    (the dataclass's ==, comparing numpy arrays) it raised "operands could not be broadcast", which ended the
    connection handler and lost the utterances (seen in start.sh's CPU run under load)."""
    engine = RecordingEngine()
    quota = StepQuota(engine, max_active=1, max_held=3)
    running, partial, final = job("u-1"), job("u-1"), job("u-1", urgent=True)  # one utterance's steps
    partial = dataclasses.replace(partial, audio=np.zeros(16_000, np.float32))
    final = dataclasses.replace(final, audio=np.zeros(57_856, np.float32))
    for step in (running, partial, final):
        assert quota.offer(step) is not None
    engine.answer(ANSWER)
    assert engine.jobs == [final] and quota.held == 1
    engine.answer(ANSWER)
    assert engine.jobs == [partial] and quota.held == 0
