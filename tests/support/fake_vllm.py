"""A stand-in `vllm` package: only `LLM.generate` is fake; qwen_asr's own `Qwen3ASRModel.LLM` builds it.

vLLM needs a GPU and cannot be installed here. Everything above `LLM.generate` stays real: qwen_asr creates the
engine and the real processor from the tiny checkpoint, and the server builds real prompts and audio. The fake
checks the shape of every input, records each call, and answers with text that encodes the audio it was given, so
a test can tell which session's audio produced which final.
"""

from __future__ import annotations

import contextlib
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dictation_devtools.modules import swapped_module


@dataclass
class GenerateCall:
    """One recorded generate: the inputs, the sampling params and the thread it ran on."""

    inputs: list[dict[str, Any]]
    sampling_params: Any
    use_tqdm: Any
    thread: str


@dataclass
class FakeVllmState:
    """What the fake saw: constructor kwargs and every generate call."""

    init_kwargs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[GenerateCall] = field(default_factory=list)
    delay_s: float = 0.0
    init_error: Exception | None = None  # raised by LLM(...), as vLLM does when the KV cache does not fit
    fail_when: Callable[[dict[str, Any]], bool] = lambda item: False


def audio_marker_text(audio: np.ndarray) -> str:
    """`amp<N> n<samples>`: N is the constant int16 amplitude a test client filled its audio with."""
    amplitude = round(float(np.median(audio)) * 32768) if len(audio) else 0
    return f"amp{amplitude} n{len(audio)}"


def continuation(prompt: str, marker: str) -> str:
    """What a model would generate after `prompt`: the rest of "language X<asr_text><marker>".

    The assistant turn may already hold a forced language header or a rolled-back prefix of an earlier answer;
    like the real model, the fake continues from there instead of starting over.
    """
    assistant = prompt.split("<|im_start|>assistant\n")[-1]
    header = "language English<asr_text>"
    if assistant.startswith("language ") and "<asr_text>" in assistant:
        header = assistant[: assistant.index("<asr_text>") + len("<asr_text>")]
    full = header + marker
    if full.startswith(assistant):
        return full[len(assistant):]
    return " " + marker


def check_input(item: object) -> None:
    """The exact shape qwen_asr's vLLM path sends: {"prompt": str, "multi_modal_data": {"audio": [1-D float32]}}."""
    assert isinstance(item, dict) and set(item) == {"prompt", "multi_modal_data"}, item
    prompt = item["prompt"]
    assert isinstance(prompt, str) and "<|im_start|>assistant\n" in prompt, prompt[-80:]
    # vLLM expands the single audio placeholder itself, so the prompt holds exactly one, unexpanded.
    assert prompt.count("<|audio_pad|>") == 1, prompt
    audio = item["multi_modal_data"]
    assert isinstance(audio, dict) and set(audio) == {"audio"} and isinstance(audio["audio"], list)
    assert len(audio["audio"]) == 1
    wave = audio["audio"][0]
    assert isinstance(wave, np.ndarray) and wave.ndim == 1 and wave.dtype == np.float32 and len(wave) > 0
    assert float(np.abs(wave).max()) <= 1.0


@contextlib.contextmanager
def installed_fake_vllm() -> Iterator[FakeVllmState]:
    """Put a fake `vllm` module in sys.modules for the duration."""
    state = FakeVllmState()
    module = types.ModuleType("vllm")

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs
            self.temperature = kwargs.get("temperature")
            self.max_tokens = kwargs.get("max_tokens")

    class LLM:
        def __init__(self, model: str, **kwargs: Any) -> None:
            state.init_kwargs.append({"model": model, **kwargs})
            if state.init_error is not None:
                raise state.init_error

        def generate(self, inputs: list[dict[str, Any]], sampling_params: Any = None,
                     use_tqdm: Any = True) -> list[Any]:
            state.calls.append(GenerateCall(list(inputs), sampling_params, use_tqdm,
                                            threading.current_thread().name))
            for item in inputs:
                check_input(item)
            if state.delay_s:
                time.sleep(state.delay_s)
            outputs = []
            for item in inputs:
                if state.fail_when(item):
                    raise RuntimeError("injected decode failure")
                text = continuation(item["prompt"], audio_marker_text(item["multi_modal_data"]["audio"][0]))
                outputs.append(types.SimpleNamespace(outputs=[types.SimpleNamespace(text=text)]))
            return outputs

    class ModelRegistry:
        @staticmethod
        def register_model(*args: Any, **kwargs: Any) -> None:
            return None

    module.LLM = LLM
    module.SamplingParams = SamplingParams
    module.ModelRegistry = ModelRegistry
    with swapped_module("vllm", module):
        yield state
