"""The inference thread: the only thread that loads, calls and closes the model.

The asyncio loop submits one `DecodeJob` per utterance step (never blocking: a lock-protected list and a
condition). The thread takes everything waiting, oldest first, up to `max_batch`, and runs ONE
`backend.generate` for the batch. Urgent steps (stopped utterances, whose final the user is waiting for) go in a
batch of their own ahead of partials, because a batch lasts as long as its longest generated output. Results go back to
the loop with `call_soon_threadsafe`, so session state is only ever touched on the loop.

If a batched generate raises, each item is retried alone, so one bad utterance fails only its own session.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from asr_server.backends.base import Backend, DecodeItem, EngineInfo
from asr_server.streaming import StepOutput

log = logging.getLogger(__name__)
INFERENCE_THREAD = "asr-inference"  # the thread that runs the backend (__main__ waits for it at exit)


@dataclass(eq=False)  # a job is itself, not its fields: comparing fields compares numpy audio, which raises
class DecodeJob:
    """One utterance step waiting for the model. `done` runs on the event loop with the output or the error."""

    label: str
    context: str
    language: str | None
    audio: np.ndarray
    prefix_raw: str | None
    rollback_tokens: int
    urgent: bool
    done: Callable[[StepOutput | None, str | None], None]
    cancelled: Callable[[], bool] = lambda: False
    submitted_at: float = field(default_factory=time.monotonic)
    # Set before `done` when the engine refused this step itself (HTTP 4xx): sending it again cannot help.
    refused: bool = False


@dataclass(frozen=True)
class SchedulerStats:
    """Counters for /healthz, logs and benchmarks."""

    steps: int
    items: int
    largest_batch: int
    failed_items: int
    audio_seconds: float


class InferenceWorker:
    """Owns the backend on one thread. `start` loads it; `submit` queues a job from the loop; `close` ends it."""

    def __init__(self, load_backend: Callable[[], Backend], loop: asyncio.AbstractEventLoop, max_batch: int,
                 on_loaded: Callable[[EngineInfo | None, BaseException | None], None],
                 max_partial_batch: int = 0) -> None:
        self._load_backend = load_backend
        self._loop = loop
        self._max_batch = max(1, max_batch)
        self._max_partial_batch = min(self._max_batch, max_partial_batch) if max_partial_batch > 0 \
            else self._max_batch
        self._on_loaded = on_loaded
        self._jobs: list[DecodeJob] = []
        self._wakeup = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=INFERENCE_THREAD, daemon=True)
        self._steps = 0
        self._items = 0
        self._largest_batch = 0
        self._failed_items = 0
        self._audio_seconds = 0.0

    def start(self) -> None:
        """Start the thread; it loads the model first and reports through `on_loaded` on the loop."""
        self._thread.start()

    def submit(self, job: DecodeJob) -> None:
        """Queue a job (called on the loop); never waits for the model."""
        with self._wakeup:
            self._jobs.append(job)
            self._wakeup.notify()

    def promote(self, job: DecodeJob, audio: np.ndarray) -> bool:
        """Make a job that is still waiting urgent, decoding `audio` instead; False if the thread already took it.

        When a user stops speaking while their partial step is queued, that step becomes the final: one decode
        instead of a partial and then a final, and it runs in the next urgent batch.
        """
        with self._wakeup:
            if not any(queued is job for queued in self._jobs):
                return False
            job.audio = audio
            job.urgent = True
            return True

    def cancel(self, job: DecodeJob) -> None:
        """Nobody waits for this job any more: drop it if the thread has not taken it yet."""
        with self._wakeup:
            self._jobs = [queued for queued in self._jobs if queued is not job]

    @property
    def queued(self) -> int:
        """Jobs waiting for a step (for /healthz)."""
        with self._wakeup:
            return len(self._jobs)

    @property
    def stats(self) -> SchedulerStats:
        """Counters so far."""
        return SchedulerStats(self._steps, self._items, self._largest_batch, self._failed_items,
                              self._audio_seconds)

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the current step; the backend is closed on its own thread."""
        with self._wakeup:
            self._closing = True
            self._wakeup.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    async def aclose(self) -> None:
        """`close` without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def _run(self) -> None:
        try:
            backend = self._load_backend()
        except BaseException as error:  # reported to the loop, which exits with the message
            self._loop.call_soon_threadsafe(self._on_loaded, None, error)
            return
        info = EngineInfo(backend.name, backend.model, tuple(backend.supported_languages),
                          final_timeout_s=backend.final_timeout_s)
        self._loop.call_soon_threadsafe(self._on_loaded, info, None)
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    break
                if batch:
                    self._decode(backend, batch)
        finally:
            backend.close()

    def _next_batch(self) -> list[DecodeJob] | None:
        with self._wakeup:
            while not self._jobs and not self._closing:
                self._wakeup.wait()
            if self._closing:
                return None
            live = [job for job in self._jobs if not job.cancelled()]
            live.sort(key=lambda job: job.submitted_at)
            # Steps of stopped utterances (finals) run in a batch of their own: a batch lasts as long as its
            # longest output, and a final's short continuation should not wait for another session's long partial.
            urgent = [job for job in live if job.urgent]
            chosen = urgent[: self._max_batch] if urgent else live[: self._max_partial_batch]
            taken = {id(job) for job in chosen}
            self._jobs = [job for job in live if id(job) not in taken]
            return chosen

    def _decode(self, backend: Backend, batch: list[DecodeJob]) -> None:
        started = time.monotonic()
        try:
            outputs = self._run_batch(backend, batch)
            results: list[tuple[StepOutput | None, str | None]] = [(output, None) for output in outputs]
        except Exception as error:
            if len(batch) == 1:
                log.exception("decode failed for %s", batch[0].label)
                results = [(None, _describe(error))]
            else:
                log.warning("batched decode of %d items failed (%s); retrying each alone", len(batch), error)
                results = [self._decode_alone(backend, job) for job in batch]
        self._steps += 1
        self._items += len(batch)
        self._largest_batch = max(self._largest_batch, len(batch))
        self._audio_seconds += sum(len(job.audio) for job in batch) / 16000
        self._failed_items += sum(1 for output, _ in results if output is None)
        log.debug("step of %d items in %.3f s", len(batch), time.monotonic() - started)
        for job, (output, error) in zip(batch, results, strict=True):
            self._loop.call_soon_threadsafe(job.done, output, error)

    def _decode_alone(self, backend: Backend, job: DecodeJob) -> tuple[StepOutput | None, str | None]:
        try:
            return self._run_batch(backend, [job])[0], None
        except Exception as error:
            log.exception("decode failed for %s", job.label)
            return None, _describe(error)

    @staticmethod
    def _run_batch(backend: Backend, batch: list[DecodeJob]) -> list[StepOutput]:
        prefixes = [backend.rollback(job.prefix_raw, job.rollback_tokens) if job.prefix_raw else ""
                    for job in batch]
        items = [DecodeItem(backend.build_prompt(job.context, job.language) + prefix, job.audio)
                 for job, prefix in zip(batch, prefixes, strict=True)]
        texts = backend.generate(items)
        if len(texts) != len(batch):
            raise RuntimeError(f"the backend returned {len(texts)} texts for {len(batch)} inputs")
        outputs = []
        for job, prefix, generated in zip(batch, prefixes, texts, strict=True):
            raw = prefix + generated
            language, text = backend.parse(raw, job.language)
            outputs.append(StepOutput(raw=raw, language=language, text=text))
        return outputs


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0][:300]
