"""Backends that stand in for the model where its words or its GPU time matter, but the GPU cannot run here.

- `ModelledBackend`: answers with placeholder words and sleeps for the time the GPU would take, from the cost
  model fitted on an H100 (BENCHMARKS.md): per call + per item + per audio second + per generated token. For
  server scaling benchmarks and soak tests.
- `ScriptedBackend`: answers with the known text of the fixture phrases found in the audio (exact int16 snippets;
  the audio reaches the server bit-exact), optionally with the modelled delay. For tests and benchmarks that need
  known words back (exactly-once output under faults, end-of-speech latency).

Both implement the real `Backend` interface; everything above them (sessions, streaming, scheduler, network) is the
real server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr_server.backends.base import Backend, DecodeItem

PROMPT_END = "<|im_start|>assistant\n"


@dataclass(frozen=True)
class CostModel:
    """Seconds for one batched step. Defaults: the 1.7B shape on an H200 with a static KV cache and CUDA graphs
    (BENCHMARKS.md, "GPU decode cost", 2026-11-25): prefill 30 ms + 1.75 ms per second of audio, then ~9 ms per
    generated token whatever the batch. `H100_EAGER` is the earlier eager-transformers fit (44 ms per token)."""

    per_call: float = 0.03
    per_item: float = 0.0
    per_audio_second: float = 0.00175
    per_token: float = 0.009
    tokens_per_second: float = 4.0  # tokens of transcript per second of speech
    header_tokens: int = 4  # "language English<asr_text>"

    def step_seconds(self, audio_seconds: list[float], generated_tokens: list[int]) -> float:
        """Tokens are decoded in parallel across the batch, so the longest output sets the token term."""
        return (self.per_call + self.per_item * len(audio_seconds) + self.per_audio_second * sum(audio_seconds)
                + self.per_token * max(generated_tokens, default=0))

    def scaled(self, factor: float) -> CostModel:
        """Every cost times `factor` (0 = free), keeping the text model."""
        return CostModel(self.per_call * factor, self.per_item * factor, self.per_audio_second * factor,
                         self.per_token * factor, self.tokens_per_second, self.header_tokens)


H100_EAGER = CostModel(per_call=0.02, per_item=0.018, per_audio_second=0.00035, per_token=0.044)
# The GPU of modelled_engine.EngineCost as one batched offline call (prefill of every item, then max_tokens
# iterations at a typical batch of 16), so a bench can compare scheduling policies on the same GPU.
ENGINE_GPU = CostModel(per_call=0.0, per_item=0.001, per_audio_second=0.0002, per_token=0.0045)
COST_MODELS = {"backend": CostModel(), "engine": ENGINE_GPU, "h100-eager": H100_EAGER}


@dataclass
class DecoderCounters:
    """What the decoder was asked to do (updated on the inference thread; read after runs)."""

    calls: int = 0
    items: int = 0
    audio_seconds: float = 0.0
    busy_seconds: float = 0.0


class _StandIn(Backend):
    """Prompt/rollback/parse of a word-level toy tokenizer; `_texts` decides the words."""

    supported_languages = ("Chinese", "English")

    def __init__(self, cost: CostModel | None) -> None:
        self.cost = cost
        self.counters = DecoderCounters()
        self._lock = threading.Lock()

    def build_prompt(self, context: str, language: str | None) -> str:
        header = f"language {language}<asr_text>" if language else ""
        return f"<|im_start|>system\n{context}<|im_end|>\n{PROMPT_END}{header}"

    def rollback(self, raw: str, tokens: int) -> str:
        head, tag, text = raw.rpartition("<asr_text>")
        words = text.split(" ")
        kept = words[: max(0, len(words) - tokens)]
        return head + tag + " ".join(kept) if kept else ""

    def parse(self, raw: str, language: str | None) -> tuple[str, str]:
        head, _, text = raw.rpartition("<asr_text>")
        detected = head.removeprefix("language ").strip() if head else ""
        return (language or detected or "English"), text.strip()

    def generate(self, items: list[DecodeItem]) -> list[str]:
        """Like a model: continue the assistant turn (forced-language header, rolled-back prefix) to the answer."""
        outputs, tokens = [], []
        for item, text in zip(items, self._texts(items), strict=True):
            assistant = item.prompt.split(PROMPT_END, 1)[-1]
            header, tag, _ = assistant.partition("<asr_text>")
            full = (header + tag if tag else "language English<asr_text>") + text
            common = 0
            while common < min(len(full), len(assistant)) and full[common] == assistant[common]:
                common += 1
            continuation = full[common:]
            outputs.append(continuation)
            # The header is generated only when the prompt does not already hold it (no forced language, no prefix).
            generated_header = self.cost.header_tokens if self.cost and not tag else 0
            tokens.append(len(continuation.split()) + generated_header)
        seconds = [len(item.audio) / 16000 for item in items]
        delay = self.cost.step_seconds(seconds, tokens) if self.cost else 0.0
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            self.counters.calls += 1
            self.counters.items += len(items)
            self.counters.audio_seconds += sum(seconds)
            self.counters.busy_seconds += delay
        return outputs

    def _texts(self, items: list[DecodeItem]) -> list[str]:
        raise NotImplementedError


class ModelledBackend(_StandIn):
    """Placeholder words, `tokens_per_second` of them per second of audio, after the modelled GPU time."""

    name = "modelled"

    def __init__(self, cost: CostModel | None = None) -> None:
        super().__init__(cost or CostModel())
        self.model = "modelled-qwen3-asr-1.7b"

    def _texts(self, items: list[DecodeItem]) -> list[str]:
        assert self.cost is not None
        return [" ".join(f"w{n}" for n in range(round(len(item.audio) / 16000 * self.cost.tokens_per_second)))
                for item in items]


SNIPPET = 400  # samples: unique within espeak phrases, and short enough to survive a cut at the edges


@dataclass(frozen=True)
class KnownPhrase:
    """A phrase's text and int16 audio, exactly as the client will send it."""

    text: str
    audio: np.ndarray

    def snippets(self) -> list[bytes]:
        """Five short pieces from inside the phrase."""
        starts = [int(len(self.audio) * f) for f in (0.2, 0.35, 0.5, 0.65, 0.8)]
        return [self.audio[s:s + SNIPPET].astype("<i2").tobytes() for s in starts if s + SNIPPET <= len(self.audio)]


def transcript(pcm: bytes, phrases: Iterable[KnownPhrase], joiner: str = " ") -> str:
    """The texts of the phrases whose snippets occur (sample-aligned) in `pcm`, in order of appearance."""
    found = []
    for phrase in phrases:
        hits = [position for position in (_find_aligned(pcm, s) for s in phrase.snippets()) if position >= 0]
        if hits:
            found.append((min(hits), phrase.text))
    return joiner.join(text for _, text in sorted(found))


def glossary_spelling(text: str, context: str) -> str:
    """What a context-biased model does, in a form a test can predict: a word that equals a term of the context
    (one per line) but for case and punctuation is written as the term ("qwen" with "Qwen-3" -> "Qwen-3")."""
    terms = {_letters(term): term.strip() for term in context.splitlines() if _letters(term)}
    return " ".join(terms.get(_letters(word), word) for word in text.split(" "))


def _letters(word: str) -> str:
    return "".join(char for char in word.lower() if char.isalnum())


def _prompt_context(prompt: str) -> str:
    """The system turn of a stand-in prompt (build_prompt): the hello's context."""
    return prompt.split("<|im_start|>system\n", 1)[-1].split("<|im_end|>", 1)[0]


def _find_aligned(haystack: bytes, needle: bytes) -> int:
    start = haystack.find(needle)
    while start >= 0 and start % 2:
        start = haystack.find(needle, start + 1)
    return start


class ScriptedBackend(_StandIn):
    """The known text of every fixture phrase in the audio (no model: words a test can check exactly)."""

    name = "scripted"

    def __init__(self, phrases: list[KnownPhrase], cost: CostModel | None = None, joiner: str = " ",
                 hold: threading.Event | None = None, heed_glossary: bool = False) -> None:
        super().__init__(cost)
        self.phrases = phrases
        self.joiner = joiner
        self.hold = hold  # decode only once this is set: a server whose results do not come until a test says so
        self.heed_glossary = heed_glossary  # spell words as the context's terms do (see glossary_spelling)
        self.model = "scripted"

    def _texts(self, items: list[DecodeItem]) -> list[str]:
        if self.hold is not None:
            self.hold.wait()
        texts = [transcript(np.round(item.audio * 32768).astype("<i2").tobytes(), self.phrases, self.joiner)
                 for item in items]
        if not self.heed_glossary:
            return texts
        return [glossary_spelling(text, _prompt_context(item.prompt)) for item, text in zip(items, texts, strict=True)]

    def save(self, path: Path) -> None:
        """Write the phrases so a server in another process can load them (`load`)."""
        np.savez(path, texts=np.array(json.dumps([p.text for p in self.phrases])),
                 **{f"audio{n}": p.audio for n, p in enumerate(self.phrases)})

    @classmethod
    def load(cls, path: Path, cost: CostModel | None = None) -> ScriptedBackend:
        """Read phrases written by `save`."""
        data = np.load(path)
        texts = json.loads(str(data["texts"]))
        return cls([KnownPhrase(text, data[f"audio{n}"]) for n, text in enumerate(texts)], cost)
