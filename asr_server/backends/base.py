"""The one small interface every inference engine implements: a batch of (prompt, audio) in, raw texts out.

A backend is created, used and closed on the inference thread only (see scheduler.py): vLLM's `LLM` and the
Hugging Face tokenizers are not thread-safe. Prompt building, token rollback and output parsing go through the
backend too, so no other thread touches the processor or tokenizer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DecodeItem:
    """One decode request: the full text prompt (chat template + optional prefix) and 16 kHz float32 audio."""

    prompt: str
    audio: np.ndarray


class Backend(ABC):
    """A loaded ASR model. `name` and `model` are reported in `ready` and `/healthz`."""

    name: str = "backend"
    model: str = ""
    supported_languages: tuple[str, ...] = ()
    final_timeout_s: float | None = None  # see engine.base.EngineInfo.final_timeout_s

    @abstractmethod
    def build_prompt(self, context: str, language: str | None) -> str:
        """The chat-template prompt for one utterance: context in the system turn, the forced language if any."""

    @abstractmethod
    def rollback(self, raw: str, tokens: int) -> str:
        """`raw` minus its last `tokens` tokens, never ending in a broken multi-byte character."""

    @abstractmethod
    def parse(self, raw: str, language: str | None) -> tuple[str, str]:
        """(language, text) from raw model output, as `qwen_asr.inference.utils.parse_asr_output` does."""

    @abstractmethod
    def generate(self, items: list[DecodeItem]) -> list[str]:
        """One batched decode: a raw generated text per item, in order. Raise to fail the whole batch."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to release
        """Release the model (GPU memory) before the process ends."""
