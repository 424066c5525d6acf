"""The chat completion we send renders, in vLLM, to exactly the prompt qwen_asr builds offline, token for token.

The offline side is qwen_asr's own `Qwen3ASRModel._build_text_prompt` with the processor that `Qwen3ASRModel.LLM`
loads, plus the rolled-back prefix (what `streaming_transcribe` appends). The HTTP side is our request body,
rendered by the fake engine the way vLLM renders it (openai content format, the checkpoint's chat template,
`continue_final_message` / `add_generation_prompt`, tokenized without special tokens).
"""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import pytest

from asr_server.engine.request import PRIORITY_FINAL, PRIORITY_PARTIAL, chat_request
from dictation_devtools.fake_engine import FakeEngine

CASES = [
    ("", None, ""),  # detect the language, first steps: the model writes the header itself
    ("术语 Qwen, WSL2", None, ""),
    ("", "Chinese", ""),  # forced language: the header is prefilled
    ("names: Zhang Wei", "English", "hello wor"),  # forced language and a rolled-back prefix
    ("", None, "language English<asr_text>the quick brown"),  # detected language: the prefix holds the header
    ("", None, "language Chinese<asr_text>你好世界，"),
]


@pytest.fixture(scope="module")
def offline(tiny_checkpoint):
    from qwen_asr import Qwen3ASRModel
    from qwen_asr.core.transformers_backend import Qwen3ASRProcessor

    # Exactly what Qwen3ASRModel.LLM builds around the vLLM engine (the engine itself is not needed for prompts).
    processor = Qwen3ASRProcessor.from_pretrained(str(tiny_checkpoint), fix_mistral_regex=True)
    return Qwen3ASRModel(backend="vllm", model=None, processor=processor)


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    return FakeEngine(tiny_checkpoint)  # only its renderer: not started


@pytest.mark.parametrize(("context", "language", "prefix"), CASES)
def test_rendered_prompt_equals_qwen_asr_offline_prompt_token_for_token(offline, engine, context, language,
                                                                         prefix):
    audio = (np.sin(np.arange(16000) / 7) * 0.3).astype(np.float32)
    body = chat_request(engine.served_model, context=context, language=language, audio=audio, prefix=prefix,
                        priority=PRIORITY_PARTIAL, max_tokens=256)
    expected = offline._build_text_prompt(context=context, force_language=language) + prefix
    expected_ids = offline.processor.tokenizer(expected)["input_ids"]

    call = engine.render(body)

    assert call.prompt == expected
    assert call.prompt_ids == expected_ids
    # One unexpanded audio placeholder, which vLLM's Qwen3-ASR processor expands to the audio's length.
    assert call.prompt.count("<|audio_start|><|audio_pad|><|audio_end|>") == 1


def test_audio_goes_as_a_lossless_16k_wav_and_the_sampling_fields_are_set(engine):
    pcm = np.arange(-8000, 8000, dtype="<i2")
    audio = pcm.astype(np.float32) / 32768.0
    body = chat_request("m", context="c", language=None, audio=audio, prefix="language English<asr_text>x",
                        priority=PRIORITY_FINAL, max_tokens=99)
    assert body["temperature"] == 0.0 and body["max_tokens"] == 99 and body["priority"] == 0
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][0] == {"role": "system", "content": "c"}
    assert body["messages"][2] == {"role": "assistant", "content": "language English<asr_text>x"}
    (part,) = body["messages"][1]["content"]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(part["input_audio"]["data"]))) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (16000, 1, 2)
        assert np.array_equal(np.frombuffer(reader.readframes(reader.getnframes()), "<i2"), pcm)


def test_without_prefix_there_is_no_assistant_turn_and_the_generation_prompt_is_added():
    body = chat_request("m", context="", language=None, audio=np.zeros(160, np.float32), prefix="",
                        priority=None, max_tokens=8)
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["add_generation_prompt"] is True and body["continue_final_message"] is False
    assert "priority" not in body


def test_engine_refuses_what_vllm_refuses(engine):
    body = chat_request(engine.served_model, context="", language="English", audio=np.zeros(160, np.float32),
                        prefix="", priority=PRIORITY_PARTIAL, max_tokens=8)
    from dictation_devtools.fake_engine import BadRequest

    with pytest.raises(BadRequest, match="continue_final_message"):
        engine.render({**body, "add_generation_prompt": True})
    older = FakeEngine(engine.checkpoint, priority_scheduling=False, refuses_priority=True)
    with pytest.raises(BadRequest, match="Priority scheduling is not enabled"):
        older.render(body)
