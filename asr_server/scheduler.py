"""The local engine: the inference thread, the only thread that loads, calls and closes the model.

It implements `engine.base.Engine` in process. The asyncio loop submits one `DecodeRequest` per utterance step (never blocking: a lock-protected list and a
condition). The thread takes everything waiting, oldest first, up to `max_batch`, and runs ONE
`backend.generate` for the batch. Urgent steps (stopped utterances, whose final the user is waiting for) go in a
batch of their own ahead of partials, because a batch lasts as long as its longest generated output. Results go back to
the loop with `call_soon_threadsafe`, so session state is only ever touched on the loop.

If a batched generate raises, each item is retried alone, so one bad utterance fails only its own session.

Promote to final, here: a step still waiting in the queue is replaced by its final (one decode instead of a partial
and then a final, in the next urgent batch); a step the thread has taken cannot change.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from asr_server.backends.base import Backend, DecodeItem
from asr_server.engine.base import DecodeFailed, DecodeRequest, EngineInfo, EngineStats, OnLoaded, StepOutput
from dictation_core.protocol import SAMPLE_RATE

log = logging.getLogger(__name__)
INFERENCE_THREAD = "asr-inference"  # the thread that runs the backend (__main__ waits for it at exit)


@dataclass(eq=False)
class _Queued:
    """A request waiting for the thread, and the future that answers it."""

    request: DecodeRequest
    future: Future[StepOutput | None]


class InferenceWorker:
    """The local Engine: owns the backend on one thread. `start` loads it; `submit` queues a step from the loop;
    `close` ends it."""

    def __init__(self, load_backend: Callable[[], Backend], loop: asyncio.AbstractEventLoop, max_batch: int,
                 on_loaded: OnLoaded, max_partial_batch: int = 0) -> None:
        self._load_backend = load_backend
        self._loop = loop
        self._max_batch = max(1, max_batch)
        self._max_partial_batch = min(self._max_batch, max_partial_batch) if max_partial_batch > 0 \
            else self._max_batch
        self._on_loaded = on_loaded
        self._jobs: list[_Queued] = []
        self._wakeup = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=INFERENCE_THREAD, daemon=True)
        self._steps = 0
        self._items = 0
        self._largest_batch = 0
        self._failed_items = 0
        self._audio_seconds = 0.0
        self._loaded = False

    def start(self) -> None:
        """Start the thread; it loads the model first and reports through `on_loaded` on the loop."""
        self._thread.start()

    def submit(self, request: DecodeRequest) -> Future[StepOutput | None]:
        """Queue a step (called on the loop); never waits for the model. Cancelling the future drops it if the
        thread has not taken it yet."""
        future: Future[StepOutput | None] = Future()
        with self._wakeup:
            self._jobs.append(_Queued(request, future))
            self._wakeup.notify()
        future.add_done_callback(self._dropped)
        return future

    def promote(self, future: Future[StepOutput | None], final: DecodeRequest) -> bool:
        """The step behind `future` becomes `final` if it is still waiting; False if the thread already took it."""
        with self._wakeup:
            for queued in self._jobs:
                if queued.future is future:
                    queued.request = final
                    return True
            return False

    def _dropped(self, future: Future[StepOutput | None]) -> None:
        if future.cancelled():
            with self._wakeup:
                self._jobs = [queued for queued in self._jobs if queued.future is not future]

    @property
    def queued(self) -> int:
        """Steps waiting for the thread (for /healthz)."""
        with self._wakeup:
            return len(self._jobs)

    @property
    def waiting(self) -> float:
        """The same as `queued`: the thread is the whole engine."""
        return float(self.queued)

    @property
    def reachable(self) -> bool:
        """True once the model is loaded: an engine in this process is never out of reach."""
        return self._loaded

    def health(self) -> dict[str, object] | None:
        """None: /healthz's own counters say everything about this engine."""
        return None

    @property
    def stats(self) -> EngineStats:
        """Counters so far."""
        return EngineStats(self._steps, self._items, self._largest_batch, self._failed_items,
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
        self._loaded = True
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

    def _next_batch(self) -> list[_Queued] | None:
        with self._wakeup:
            while not self._jobs and not self._closing:
                self._wakeup.wait()
            if self._closing:
                return None
            live = [job for job in self._jobs if not job.future.cancelled()]
            live.sort(key=lambda job: job.request.submitted_at)
            # Steps of stopped utterances (finals) run in a batch of their own: a batch lasts as long as its
            # longest output, and a final's short continuation should not wait for another session's long partial.
            urgent = [job for job in live if job.request.urgent]
            chosen = urgent[: self._max_batch] if urgent else live[: self._max_partial_batch]
            taken = {id(job) for job in chosen}
            self._jobs = [job for job in live if id(job) not in taken]
            return chosen

    def _decode(self, backend: Backend, queued: list[_Queued]) -> None:
        started = time.monotonic()
        batch = [job.request for job in queued]
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
        self._audio_seconds += sum(len(job.audio) for job in batch) / SAMPLE_RATE
        self._failed_items += sum(1 for output, _ in results if output is None)
        log.debug("step of %d items in %.3f s", len(batch), time.monotonic() - started)
        for job, (output, error) in zip(queued, results, strict=True):
            self._loop.call_soon_threadsafe(_settle, job.future, output, error)

    def _decode_alone(self, backend: Backend, job: DecodeRequest) -> tuple[StepOutput | None, str | None]:
        try:
            return self._run_batch(backend, [job])[0], None
        except Exception as error:
            log.exception("decode failed for %s", job.label)
            return None, _describe(error)

    @staticmethod
    def _run_batch(backend: Backend, batch: list[DecodeRequest]) -> list[StepOutput]:
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


def _settle(future: Future[StepOutput | None], output: StepOutput | None, error: str | None) -> None:
    """On the loop: answer `future` unless it was cancelled meanwhile."""
    if future.done():
        return
    if output is not None:
        future.set_result(output)
    else:
        future.set_exception(DecodeFailed(error or "the decode failed"))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0][:300]
