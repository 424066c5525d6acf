"""What vLLM refuses never reaches it, and what it refuses anyway is not sent again forever (issue 19, item 2).

The fake engine validates as vLLM 0.26 does on the GPU: audio of 200 samples or fewer is a 400, and so are both
template flags at once; priority on an engine without the priority policy is accepted and ignored."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from websockets.asyncio.client import connect

from asr_server.engine.base import StepOutput
from asr_server.engine.request import (
    MIN_ENGINE_SAMPLES,
    PRIORITY_PARTIAL,
    chat_request,
    padded_for_engine,
    wav_base64,
)
from asr_server.streaming import StreamSettings, UtteranceStream
from dictation_devtools.fake_engine import BadRequest, EngineCall, FakeEngine
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import recv_until, run, send_utterance


def pcm(amplitude: int, samples: int) -> bytes:
    return np.full(samples, amplitude, dtype="<i2").tobytes()


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint) as running:
        yield running


def _unpadded(engine: FakeEngine, audio: np.ndarray) -> dict:
    """Our request body, but carrying `audio` as is (what the server sent before it padded short audio)."""
    body = chat_request(engine.served_model, context="", language=None, audio=audio, prefix="", priority=0,
                        max_tokens=8)
    body["messages"][1]["content"][0]["input_audio"]["data"] = wav_base64(audio)
    return body


def test_the_fake_engine_refuses_what_vllm_refuses(engine):
    for samples in (0, 1, 160, 200):
        with pytest.raises(BadRequest, match="Failed to apply Qwen3ASRProcessor"):
            engine.render(_unpadded(engine, np.zeros(samples, np.float32)))
    assert engine.render(_unpadded(engine, np.zeros(201, np.float32))).audio.size == 201
    body = chat_request(engine.served_model, context="", language="English", audio=np.zeros(16000, np.float32),
                        prefix="", priority=PRIORITY_PARTIAL, max_tokens=8)
    with pytest.raises(BadRequest, match="Cannot set both"):
        engine.render({**body, "add_generation_prompt": True})


def test_without_the_priority_policy_priority_is_accepted_and_ignored(tiny_checkpoint):
    body = chat_request("qwen3-asr-test", context="", language=None, audio=np.zeros(16000, np.float32), prefix="",
                        priority=PRIORITY_PARTIAL, max_tokens=8)
    fcfs = FakeEngine(tiny_checkpoint, priority_scheduling=False)
    assert fcfs.render(body).priority == PRIORITY_PARTIAL  # no 400, as vLLM 0.26 answers
    old = FakeEngine(tiny_checkpoint, priority_scheduling=False, refuses_priority=True)
    with pytest.raises(BadRequest, match="Priority scheduling is not enabled"):
        old.render(body)


@pytest.mark.parametrize("samples", [1, 200, 7999])
def test_short_audio_is_padded_with_silence_to_half_a_second(samples):
    audio = np.full(samples, 0.25, np.float32)
    padded = padded_for_engine(audio)
    assert len(padded) == MIN_ENGINE_SAMPLES == 8000
    assert np.all(padded[:samples] == 0.25) and not np.any(padded[samples:])
    assert padded_for_engine(np.zeros(9000, np.float32)).size == 9000


@pytest.mark.parametrize("samples", [1, 100, 200])
def test_an_utterance_of_200_samples_or_fewer_gets_a_final(engine, tiny_checkpoint, samples):
    async def scenario(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await send_utterance(websocket, pcm(700, samples), utterance_id="tiny")
            return await recv_until(websocket, "final", timeout=30)

    before = len(engine.refused)
    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        messages = run(scenario(server.url))
    assert messages[-1]["type"] == "final" and messages[-1]["id"] == "tiny"
    assert engine.refused[before:] == []
    assert engine.calls[-1].audio.size == MIN_ENGINE_SAMPLES


def test_a_small_tail_after_a_full_window_is_merged_into_it_not_sent_alone():
    stream = UtteranceStream("u", StreamSettings.from_seconds(1.0, 2.0, 2, 5))
    stream.feed(pcm(100, 32000 + 150))
    partial = stream.next_step()
    assert partial is not None and len(partial.audio) == 32000  # the window is full
    stream.apply(StepOutput(raw="r", language="English", text="x"))
    stream.stop()
    final = stream.next_step()
    assert final is not None and final.is_final
    assert len(final.audio) == 32150, "the 150-sample tail went into the 2 s window, not alone to the engine"


def test_a_tail_that_spills_past_the_window_goes_with_it_when_small_and_alone_when_not():
    for extra, last in ((4000, [36000]), (9000, [32000, 9000])):
        stream = UtteranceStream("u", StreamSettings.from_seconds(1.0, 2.0, 2, 5))
        stream.feed(pcm(100, 16000))
        first = stream.next_step()
        assert first is not None
        stream.apply(StepOutput(raw="r", language="English", text="x"))
        stream.feed(pcm(100, 16000 + extra))
        stream.stop()
        sizes = []
        while (step := stream.next_step()) is not None:
            sizes.append(len(step.audio))
            stream.apply(StepOutput(raw="r", language="English", text="x"))
        assert sizes == last


class _RefusesFinals(FakeEngine):
    """An engine that refuses every final (priority 0) with 400, as it would a request it cannot process."""

    def render(self, body: dict) -> EngineCall:
        call = super().render(body)
        if call.priority == 0:
            self.calls.append(call)
            raise BadRequest("Failed to apply Qwen3ASRProcessor: refused for the test")
        return call


def test_a_4xx_for_a_final_is_not_sent_again_and_the_final_keeps_the_text_so_far(tiny_checkpoint):
    with _RefusesFinals(tiny_checkpoint) as engine:
        async def scenario(url: str) -> list[dict]:
            async with connect(url) as websocket:
                await send_utterance(websocket, pcm(900, 40000), utterance_id="r", realtime=4.0)
                return await recv_until(websocket, "final", timeout=30)

        with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url,
                            engine_retry_seconds=2) as server:
            messages = run(scenario(server.url))
            finals_sent = [call for call in engine.calls if call.priority == 0]
            # The engine's last error is detail for the token holder (/healthz without one hides it): read it whole.
            async def detailed_health() -> dict:
                return server.server.health(detailed=True)

            health = asyncio.run_coroutine_threadsafe(detailed_health(), server.loop).result(30)
    final = messages[-1]
    assert final["type"] == "final" and final["id"] == "r"
    assert final["text"].startswith("amp900"), "the partials' text, not nothing"
    assert len(finals_sent) == 1, "the refused final was sent once"
    assert "refused" in health["engine"]["last_error"]
