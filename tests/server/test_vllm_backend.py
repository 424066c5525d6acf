"""The vLLM backend with only `vllm.LLM.generate` faked: real qwen_asr construction, real prompts and audio."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import dictate, run
from tests.support.fake_vllm import installed_fake_vllm


def _constant_audio(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


@pytest.fixture
def fake_vllm():
    with installed_fake_vllm() as state:
        yield state


def test_engine_is_built_like_qwen_asr_and_inputs_have_the_vllm_shape(tiny_checkpoint, fake_vllm):
    with running_server(tiny_checkpoint, backend="vllm", gpu_memory_utilization=0.4) as server:
        messages = run(dictate(server.url, [_constant_audio(1000, 2.5)],
                               hello={"language": "chinese", "context": "术语 Qwen"}, ids=["x"]))
    (kwargs,) = fake_vllm.init_kwargs
    assert kwargs["model"] == str(tiny_checkpoint) and kwargs["max_model_len"] == 4096
    assert kwargs["gpu_memory_utilization"] == 0.4
    assert messages[0] == {"type": "ready", "protocol": 1, "model": str(tiny_checkpoint), "backend": "vllm"}
    assert fake_vllm.calls, "the server decoded through LLM.generate"
    for call in fake_vllm.calls:
        assert call.use_tqdm is False and call.sampling_params.temperature == 0.0
        assert call.thread == "asr-inference", "only the inference thread calls the model"
        for item in call.inputs:
            assert "术语 Qwen" in item["prompt"], "the glossary goes into the system prompt"
            assert "language Chinese<asr_text>" in item["prompt"], "a forced language is in the prompt"
    final = messages[-1]
    assert final["type"] == "final" and final["id"] == "x" and final["language"] == "Chinese"
    # The final decode re-fed the whole 2.5 s (within one window) and the parser kept the text.
    assert "amp1000" in final["text"] and "n40000" in final["text"]


def test_eight_sessions_share_generate_calls_and_finals_reach_the_right_session(tiny_checkpoint, fake_vllm):
    fake_vllm.delay_s = 0.05  # a step takes time, so chunks of other sessions queue up and batch

    async def many(url: str) -> list[list[dict]]:
        return await asyncio.gather(*(
            dictate(url, [_constant_audio(100 * (n + 1), 3.0), _constant_audio(100 * (n + 1) + 7, 1.2)],
                    ids=[f"s{n}-a", f"s{n}-b"], realtime=3.0)
            for n in range(8)))

    with running_server(tiny_checkpoint, backend="vllm", max_sessions=8) as server:
        results = run(many(server.url))
    assert max(len(call.inputs) for call in fake_vllm.calls) > 1, "several sessions in one generate call"
    for n, messages in enumerate(results):
        finals = [m for m in messages if m["type"] == "final"]
        assert [f["id"] for f in finals] == [f"s{n}-a", f"s{n}-b"]
        assert f"amp{100 * (n + 1)} " in finals[0]["text"], finals[0]
        assert f"amp{100 * (n + 1) + 7} " in finals[1]["text"], finals[1]
        amplitudes = {f"s{n}-a": 100 * (n + 1), f"s{n}-b": 100 * (n + 1) + 7}
        for partial in (m for m in messages if m["type"] == "partial"):
            assert f"amp{amplitudes[partial['id']]} " in partial["text"] + " ", partial


def test_missing_vllm_is_a_one_line_error(tiny_checkpoint, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "asr_server", "--model", str(tiny_checkpoint), "--backend",
                             "vllm", "--port", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("asr_server: error: vLLM is not installed") and ".[server]" in last
    assert "Traceback" not in result.stderr


def test_gpu_without_enough_memory_is_one_line_that_names_the_flags(tiny_checkpoint, fake_vllm, capsys):
    from asr_server.__main__ import main

    fake_vllm.init_error = ValueError(
        "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing "
        "the engine.")
    assert main(["--model", str(tiny_checkpoint), "--backend", "vllm", "--port", "0",
                 "--gpu-memory-utilization", "0.3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("asr_server: error: the model and its KV cache do not fit in GPU memory")
    for flag in ("--gpu-memory-utilization (now 0.3)", "--max-model-len", "--max-sessions"):
        assert flag in err[-1]
    assert not any("Traceback" in line for line in err)


def test_unreachable_hugging_face_id_is_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    result = subprocess.run([sys.executable, "-m", "asr_server", "--model", "nobody/no-such-asr-model",
                             "--backend", "transformers", "--device", "cpu", "--port", "0"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("asr_server: error: could not load the model nobody/no-such-asr-model")
    assert "huggingface-cli download" in last and "Traceback" not in result.stderr
