"""A modelled continuous-batching engine behind vLLM's HTTP API, for benchmarks (fake_engine.py's `FakeEngine`
with its per-request sleep replaced by an iteration-level cost model).

One loop thread plays the GPU. Each iteration decodes one token for every running request and prefills the
requests admitted since the last one (their first token comes out of the prefill), and lasts

    step_base + step_per_running * running  +  sum over admitted of (prefill_base + prefill_per_audio_second * audio)

A request finishes when it has generated its answer's tokens (one per word of the continuation, plus EOS); a
request whose client disconnects leaves at the next iteration (vLLM aborts it). Admission, priority order and
`max_running` are FakeEngine's. `EngineCost()` holds the 1.7B figures measured on an H200 (BENCHMARKS.md, "GPU
decode cost"; see EngineCost for which rows).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dictation_core.protocol import SAMPLE_RATE
from dictation_devtools.fake_engine import Aborted, EngineCall, FakeEngine, continuation
from dictation_devtools.stand_in_backends import KnownPhrase, transcript

_GONE_CHECK_SECONDS = 0.05  # how often disconnected clients are looked for (vLLM notices them asynchronously)


@dataclass(frozen=True)
class EngineCost:
    """Seconds per engine iteration and per admitted request's prefill, for the 1.7B shape on an H200.

    Decode iteration: the compiled decode step (static KV cache + CUDA graphs) of the bare 1.7B decoder on
    transformers 5.17, 3.59 ms at batch 1 and 7.23 ms at batch 64 (vLLM's CUDA-graph step is at least this fast;
    transformers 4.57's generate adds ~5 ms of host time per step, which vLLM does not have). Prefill: the GPU
    work of a request, ~0.1 ms per second of audio for the decoder (prefill slope of the decoder rows, 160
    tokens per 10 s) doubled for the audio encoder; the transformers backend's 1.75 ms per audio second is
    mostly feature extraction on the CPU, which vLLM does in its API process, outside the GPU's iterations.
    """

    step_base: float = 0.0036
    step_per_running: float = 0.000058
    prefill_base: float = 0.001
    prefill_per_audio_second: float = 0.0002
    tokens_per_second: float = 4.0  # words of transcript per second of speech (the modelled answer)
    header_tokens: int = 4  # "language English<asr_text>", generated unless the prompt holds it

    def scaled(self, factor: float) -> EngineCost:
        """Every time cost times `factor`."""
        return EngineCost(self.step_base * factor, self.step_per_running * factor, self.prefill_base * factor,
                          self.prefill_per_audio_second * factor, self.tokens_per_second, self.header_tokens)


def placeholder_answer(cost: EngineCost) -> Callable[[EngineCall], str]:
    """`w0 w1 ...`, `tokens_per_second` words per second of audio: a partial's length says what it covers."""

    def answer(call: EngineCall) -> str:
        words = round(len(call.audio) / SAMPLE_RATE * cost.tokens_per_second)
        return "language English<asr_text>" + " ".join(f"w{n}" for n in range(words))

    return answer


def scripted_answer(phrases: Sequence[KnownPhrase]) -> Callable[[EngineCall], str]:
    """The known text of every fixture phrase in the audio, as ScriptedBackend gives it (words a bench checks)."""

    def answer(call: EngineCall) -> str:
        pcm = np.round(call.audio * 32768).astype("<i2").tobytes()
        return "language English<asr_text>" + transcript(pcm, phrases)

    return answer


@dataclass(eq=False)
class _Job:
    call: EngineCall
    tokens: int
    gone: Callable[[], bool]
    generated: int = 0
    prefilled: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    aborted: bool = False


@dataclass
class IterationStats:
    """What the modelled GPU did (for benchmark reports)."""

    iterations: int = 0
    busy_seconds: float = 0.0
    largest_batch: int = 0
    prefills: int = 0
    prefill_audio_seconds: float = 0.0


class ModelledEngine(FakeEngine):
    """FakeEngine whose admitted requests share iterations of a modelled GPU (see the module doc)."""

    def __init__(self, checkpoint: Path | str, *, cost: EngineCost | None = None,
                 answer: Callable[[EngineCall], str] | None = None, **kwargs: Any) -> None:
        self.cost = cost or EngineCost()
        kwargs.setdefault("max_running", 256)  # vLLM's default max_num_seqs
        super().__init__(checkpoint, answer=answer or placeholder_answer(self.cost), **kwargs)
        self.stats = IterationStats()
        self._jobs: list[_Job] = []
        self._gpu = threading.Condition()
        self._loop: threading.Thread | None = None
        self._stopping = False
        self._next_gone_check = 0.0

    def start(self) -> ModelledEngine:
        super().start()
        if self._loop is None or not self._loop.is_alive():
            self._stopping = False
            self._loop = threading.Thread(target=self._iterate, name="modelled-gpu", daemon=True)
            self._loop.start()
        return self

    def close(self) -> None:
        with self._gpu:
            self._stopping = True
            self._gpu.notify_all()
        super().close()
        if self._loop is not None:
            self._loop.join(5)

    def _run(self, call: EngineCall, gone: Callable[[], bool]) -> str:
        """Join the running batch and wait until the modelled GPU has generated this request's tokens."""
        text = continuation(call.assistant_prefix, self.answer(call))
        header = 0 if "<asr_text>" in call.assistant_prefix else self.cost.header_tokens
        words = len(text.rpartition("<asr_text>")[2].split())
        job = _Job(call, tokens=words + header + 1, gone=gone)  # + EOS
        with self._gpu:
            self._jobs.append(job)
            self._gpu.notify_all()
        job.done.wait()
        if job.aborted:
            call.outcome = "aborted"
            raise Aborted
        call.text = text
        call.outcome = "done"
        return text

    def _iterate(self) -> None:
        """The modelled GPU: one iteration after another while any request runs."""
        while True:
            with self._gpu:
                while not self._jobs and not self._stopping:
                    self._gpu.wait()
                if self._stopping:
                    for job in self._jobs:
                        job.aborted = True
                        job.done.set()
                    return
                if time.monotonic() >= self._next_gone_check:
                    # A select() per request per 4 ms iteration would itself load the (shared, small) CPU.
                    self._next_gone_check = time.monotonic() + _GONE_CHECK_SECONDS
                    self._drop_gone()
                running = [job for job in self._jobs if job.prefilled]
                admitted = [job for job in self._jobs if not job.prefilled]
            seconds = self._iteration_seconds(len(running), admitted)
            time.sleep(seconds)
            with self._gpu:
                self.stats.iterations += 1
                self.stats.busy_seconds += seconds
                self.stats.largest_batch = max(self.stats.largest_batch, len(running) + len(admitted))
                for job in running + admitted:
                    job.prefilled = True
                    job.generated += 1
                    if job.generated >= job.tokens:
                        self._jobs.remove(job)
                        job.done.set()

    def _iteration_seconds(self, running: int, admitted: list[_Job]) -> float:
        cost = self.cost
        audio = sum(len(job.call.audio) for job in admitted) / SAMPLE_RATE
        self.stats.prefills += len(admitted)
        self.stats.prefill_audio_seconds += audio
        return (cost.step_base + cost.step_per_running * (running + len(admitted))
                + cost.prefill_base * len(admitted) + cost.prefill_per_audio_second * audio)

    def _drop_gone(self) -> None:
        """Requests whose client went away (or a killed engine) leave before the next iteration."""
        for job in list(self._jobs):
            if job.gone() or self._killed.is_set():
                self._jobs.remove(job)
                job.aborted = True
                job.done.set()
