"""The modelled continuous-batching engine the benchmarks run behind vLLM's HTTP API: requests share iterations,
a short request that arrives later finishes before a long one, priority orders admission, a disconnect aborts."""

from __future__ import annotations

import threading

import httpx
import numpy as np
import pytest

from asr_server.engine.request import chat_request
from dictation_devtools.modelled_engine import EngineCost, ModelledEngine
from dictation_devtools.polling import wait_for

SLOW = EngineCost(step_base=0.02, step_per_running=0.0, prefill_base=0.0, prefill_per_audio_second=0.0)


def _body(seconds: float, priority: int = 1) -> dict:
    audio = np.full(round(seconds * 16000), 0.01, dtype=np.float32)
    return chat_request("qwen3-asr-test", context="", language=None, audio=audio, prefix="", priority=priority,
                        max_tokens=256)


def _post(engine: ModelledEngine, body: dict, results: dict, key: str) -> threading.Thread:
    def run() -> None:
        response = httpx.post(f"{engine.url}/chat/completions", json=body, timeout=60)
        results[key] = response.json()["choices"][0]["message"]["content"]

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def engine(tiny_checkpoint):
    with ModelledEngine(tiny_checkpoint, cost=SLOW) as modelled:
        yield modelled


def test_requests_share_iterations_and_a_late_short_one_finishes_first(engine):
    results: dict[str, str] = {}
    long = _post(engine, _body(10.0), results, "long")  # 40 words + header + EOS = 45 tokens
    assert wait_for(lambda: engine.stats.iterations >= 3, 30)
    short = _post(engine, _body(1.0), results, "short")  # 4 words: 9 tokens
    short.join(30)
    assert "short" in results and "long" not in results, "continuous batching: the short one did not wait"
    long.join(30)
    assert results["long"] == "language English<asr_text>" + " ".join(f"w{n}" for n in range(40))
    assert results["short"] == "language English<asr_text>w0 w1 w2 w3"
    assert engine.stats.iterations < 45 + 9, "the two shared iterations instead of running one after the other"
    assert engine.stats.largest_batch == 2


def test_priority_orders_admission_when_the_engine_is_full(tiny_checkpoint):
    with ModelledEngine(tiny_checkpoint, cost=SLOW, max_running=1) as engine:
        results: dict[str, str] = {}
        # Running for ~5 s (245 tokens at 20 ms): the two later requests must arrive while it still runs, and on a
        # loaded machine posting them took longer than the 0.26 s a 2 s request used to run.
        first = _post(engine, _body(60.0), results, "running")
        assert wait_for(lambda: engine.running == 1, 30)
        partial = _post(engine, _body(1.0, priority=1), results, "partial")
        assert wait_for(lambda: engine.waiting == 1, 30)
        final = _post(engine, _body(1.0, priority=0), results, "final")
        assert wait_for(lambda: engine.waiting == 2, 30)
        for thread in (first, partial, final):
            thread.join(30)
        calls = {call.priority: call for call in engine.calls_with("done") if len(call.audio) == 16000}
        assert calls[0].started < calls[1].started, "the final (priority 0) was admitted before the partial"


def test_a_disconnected_request_is_aborted_and_leaves_the_batch(engine):
    with httpx.Client(timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{engine.url}/chat/completions", json=_body(30.0))
    assert wait_for(lambda: len(engine.calls_with("aborted")) == 1, 60)
    assert wait_for(lambda: engine.running == 0, 60)
    iterations = engine.stats.iterations
    assert iterations < 125, "it stopped long before its 125 tokens"
