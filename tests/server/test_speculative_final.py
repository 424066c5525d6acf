"""Speculative finals: `{"event":"silence","ms":E}` starts the final's decode inside the end-of-speech silence.

A stop with no audio since gets that result as its final without another decode; audio after the event drops
it (its request is aborted); a client that never sends the event gets exactly what it got before.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from websockets.asyncio.client import connect

from dictation_core import protocol
from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.polling import wait_for
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import recv_until, run


def pcm(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


@pytest.fixture
def engine(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint) as fake:
        yield fake


def finals_at(engine: FakeEngine) -> list:
    return [call for call in engine.calls if call.priority == 0]


async def until(condition, timeout: float = 10.0) -> None:
    assert await asyncio.to_thread(wait_for, condition, timeout)


def test_stop_after_silence_gets_the_decoded_guess_at_once_without_another_decode(tiny_checkpoint, engine):
    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(protocol.start("s"))
            await websocket.send(pcm(1200, 1.5))
            await websocket.send(protocol.silence(150))
            await until(lambda: [c for c in finals_at(engine) if c.outcome == "done"])  # the guess is decoded
            calls_before_stop = len(engine.calls)
            await websocket.send(protocol.stop())
            messages = await recv_until(websocket, "final")
            assert len(engine.calls) == calls_before_stop, "the stop sent no decode of its own"
            return messages

    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        messages = run(scenario(server.url))
    assert messages[-1] == {"type": "final", "id": "s", "text": "amp1200 n24000", "language": "English"}
    (guess,) = finals_at(engine)
    assert guess.audio.size == 24000, "the guess decoded the whole utterance"


def test_stop_while_the_guess_decodes_waits_for_it_and_sends_no_second_final(tiny_checkpoint, engine):
    engine.decode_seconds = lambda call: 0.5 if call.priority == 0 else 0.0

    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(protocol.start("w"))
            await websocket.send(pcm(700, 1.2))
            await websocket.send(protocol.silence(150))
            await until(lambda: any(c.outcome == "running" for c in finals_at(engine)))
            await websocket.send(protocol.stop())
            return await recv_until(websocket, "final")

    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        messages = run(scenario(server.url))
    assert [m["type"] for m in messages if m["type"] == "final"] == ["final"]
    assert messages[-1]["text"] == "amp700 n19200"
    assert len(finals_at(engine)) == 1 and finals_at(engine)[0].outcome == "done"


def test_speech_after_silence_drops_the_guess_and_the_final_covers_all_the_audio(tiny_checkpoint, engine):
    engine.decode_seconds = lambda call: 5.0 if call.priority == 0 and call.audio.size == 16000 else 0.0

    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(protocol.start("r"))
            await websocket.send(pcm(900, 1.0))
            await websocket.send(protocol.silence(150))
            await until(lambda: any(c.outcome == "running" for c in finals_at(engine)))
            await websocket.send(pcm(900, 0.5))  # speech resumed
            await websocket.send(protocol.stop())
            return await recv_until(websocket, "final")

    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        messages = run(scenario(server.url))
        assert wait_for(lambda: engine.calls_with("aborted"), 60)
    assert messages[-1]["text"] == "amp900 n24000"
    guess = [c for c in finals_at(engine) if c.audio.size == 16000]
    assert len(guess) == 1 and guess[0].outcome == "aborted", "the stale guess was aborted at the engine"


def test_silence_is_validated_and_needs_an_open_utterance(tiny_checkpoint, engine):
    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            answers = []
            for bad in (protocol.silence(150), json.dumps({"event": "silence", "ms": -1}),
                        json.dumps({"event": "silence"})):
                await websocket.send(bad)
                answers.append(json.loads(await websocket.recv()))
            return answers

    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        answers = run(scenario(server.url))
    assert [a["code"] for a in answers] == ["bad_message"] * 3
    assert "open utterance" in answers[0]["message"] and "milliseconds" in answers[1]["message"]
    assert protocol.parse_event(protocol.silence(150), max_context_chars=10) == protocol.Silence(150)


def test_the_transformers_backend_uses_the_guess_too(tiny_checkpoint):
    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(protocol.start("t"))
            await websocket.send(pcm(300, 1.0))
            await websocket.send(protocol.silence(200))
            await websocket.send(protocol.stop())
            return await recv_until(websocket, "final")

    with running_server(tiny_checkpoint) as server:
        messages = run(scenario(server.url))
        _, health = server.health()
    assert [m["type"] for m in messages].count("final") == 1 and messages[-1]["id"] == "t"
    assert health["decoded_items"] == 1, "one decode: the guess was the final"


def test_a_failed_guess_is_not_an_error_the_stop_decodes_the_final_itself(tiny_checkpoint):
    from dictation_devtools.stand_in_backends import ModelledBackend

    class FirstFinalFails(ModelledBackend):
        """Fails the first decode of the whole utterance (the guess), then works."""

        failed = False

        def generate(self, items):
            if not self.failed and any(len(item.audio) == 20000 for item in items):
                self.failed = True
                raise RuntimeError("injected decode failure")
            return super().generate(items)

    backend = FirstFinalFails()

    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(protocol.start("f"))
            await websocket.send(pcm(300, 1.25))
            await websocket.send(protocol.silence(150))
            await until(lambda: backend.failed)
            await websocket.send(protocol.stop())
            return await recv_until(websocket, "final")

    with running_server(backend_factory=lambda config: backend) as server:
        messages = run(scenario(server.url))
    assert [m["type"] for m in messages if m["type"] != "partial"] == ["final"], "no error, one final"
    assert messages[-1]["id"] == "f"
    assert messages[-1]["text"] == "w0 w1 w2 w3 w4", "the final decoded all 1.25 s after the failed guess"
