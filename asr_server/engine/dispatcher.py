"""The asyncio side of the HTTP engine: one chat completion per utterance step, on the event loop.

It implements `engine.base.Engine` as the inference thread does, but batching, ordering and preemption happen in
vLLM:

- every step is sent at once: the engine batches it with everyone else's steps, token by token;
- a final (a stopped utterance's step) goes at `PRIORITY_FINAL`, partials at `PRIORITY_PARTIAL`;
- promote to final, here: the utterance stopped while its partial is in flight, so that request is cancelled
  (closing its HTTP connection, so vLLM aborts it) and the step goes again as the final with the rest of the
  audio, answering the same future;
- while the engine's own queue (`vllm:num_requests_waiting`, polled from its /metrics) is at or above
  `--shed-queue-depth`, or the engine does not answer, partial steps are not sent at all (`done(None, None)`: skipped, the next audio retries);
  finals are never shed;
- finals come first by our own count too, not only by the engine's gauge (polled twice a second, it misses a
  burst of stops): while a final has waited longer than FINAL_WAIT_SECONDS (an idle engine answers one in under
  0.1 s on an H100), no partial is sent and the partials in flight are aborted (skipped: the next audio retries),
  so the burst's finals have the engine's batch to themselves; each final goes out the moment its stop arrives,
  so the finals of one burst reach the engine together.

Token rollback and output parsing use the checkpoint's tokenizer on the loop (they take well under a
millisecond for a transcript); nothing here blocks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from asr_server.config import ServerConfig
from asr_server.engine.base import DecodeFailed, DecodeRequest, EngineInfo, EngineStats, OnLoaded, StepOutput
from asr_server.engine.client import EngineClient, EngineLoad, EngineUnreachable
from asr_server.engine.request import PRIORITY_FINAL, PRIORITY_PARTIAL, chat_request
from asr_server.errors import EngineError, EngineRefused
from asr_server.metrics import ServerMetrics
from dictation_core.protocol import SAMPLE_RATE

if TYPE_CHECKING:
    from asr_server.backends.qwen_common import QwenText

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
# A final older than this is waiting behind other work: partials then wait for the finals (see the docstring).
FINAL_WAIT_SECONDS = 0.15
# An answer cap in characters per --max-new-tokens token: no Qwen token decodes to more than a few characters.
_CHARS_PER_TOKEN = 8
# Parsing costs about 10 us a character (repetition checks): longer answers are parsed off the event loop.
_PARSE_ON_LOOP_CHARS = 1024
_WAIT_LOG_SECONDS = 10.0


class EngineDispatcher:
    """Sends utterance steps to vLLM's OpenAI-compatible server. Create, `start()` and use on one event loop."""

    name = "vllm"

    def __init__(self, config: ServerConfig,
                 on_loaded: OnLoaded,
                 metrics: ServerMetrics | None = None) -> None:
        self._config = config
        self._metrics = metrics
        self._on_loaded = on_loaded
        self._client = EngineClient(config.engine_url, timeout=config.engine_timeout_seconds,
                                    retry_seconds=config.engine_retry_seconds, api_key=config.engine_api_key,
                                    max_answer_bytes=max(1 << 16, 64 * config.max_new_tokens),
                                    max_answer_chars=_CHARS_PER_TOKEN * config.max_new_tokens)
        self._text: QwenText | None = None
        self._model = ""
        self._tasks: dict[Future[StepOutput | None], tuple[DecodeRequest, asyncio.Task[None]]] = {}
        self._background: list[asyncio.Task[None]] = []
        self.reachable = False
        self.load = EngineLoad(0, 0)
        self.last_decode_ok: bool | None = None
        self.last_error = ""
        self._requests = 0
        self._failed = 0
        self._audio_seconds = 0.0
        self.shed = 0
        self.cancelled = 0
        self.held_for_finals = 0
        self._finals_sent: dict[Future[StepOutput | None], float] = {}  # when each final in flight was sent

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the tokenizer, wait for the engine to list its model, then report through `on_loaded`."""
        self._background.append(asyncio.create_task(self._load(), name="engine-load"))

    async def aclose(self) -> None:
        """Cancel every request in flight (vLLM aborts them) and close the connection pool."""
        for task in self._background:
            task.cancel()
        for _, task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._background, *(task for _, task in self._tasks.values()),
                             return_exceptions=True)
        self._tasks.clear()
        await self._client.aclose()

    async def _load(self) -> None:
        from asr_server.backends.qwen_common import QwenText

        try:
            self._text = await asyncio.get_running_loop().run_in_executor(None, QwenText.load, self._config.model)
            self._model = await self._served_model()
        except Exception as error:
            self._on_loaded(None, error)
            return
        self._background.append(asyncio.create_task(self._poll(), name="engine-poll"))
        self._on_loaded(EngineInfo(self.name, self._model, tuple(self._text.supported_languages)), None)

    async def _served_model(self) -> str:
        """The engine's model id, waiting (and saying so) until the engine answers."""
        waited_since = time.monotonic()
        last_log = 0.0
        while True:
            try:
                models = await self._client.models()
                break
            except EngineUnreachable as error:
                if time.monotonic() - last_log >= _WAIT_LOG_SECONDS:
                    last_log = time.monotonic()
                    log.info("waiting for the engine at %s (%.0f s so far: %s); start it with "
                             "scripts/start_server.sh or vllm serve MODEL --scheduling-policy priority",
                             self._client.url, last_log - waited_since, type(error).__name__)
                await asyncio.sleep(0.5)
        self.reachable = True
        ids = [str(model.get("id")) for model in models]
        for model in models:
            if self._config.model in (model.get("id"), model.get("root")):
                return str(model["id"])
        log.warning("the engine serves %s, not --model %s; using %s (the tokenizer comes from --model, so they "
                    "must be the same checkpoint)", ", ".join(ids), self._config.model, ids[0])
        return ids[0]

    async def _poll(self) -> None:
        while True:
            try:
                self.load = await self._client.load()
                if not self.reachable:
                    log.warning("the engine at %s is back", self._client.url)
                self.reachable = True
            except EngineUnreachable as error:
                if self.reachable:
                    log.error("the engine at %s is unreachable (%s): finals get an engine error until it is back",
                              self._client.url, type(error).__name__)
                self.reachable = False
            await asyncio.sleep(_POLL_SECONDS)

    # -- the Engine protocol (engine/base.py) ---------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Steps sent and not answered yet."""
        return len(self._tasks)

    @property
    def waiting(self) -> float:
        """Requests waiting in the engine's own queue (its /metrics, polled)."""
        return float(self.load.waiting)

    @property
    def stats(self) -> EngineStats:
        """Counters so far (a step is one request; vLLM does the batching)."""
        return EngineStats(self._requests, self._requests, 1 if self._requests else 0, self._failed,
                              self._audio_seconds)

    def submit(self, request: DecodeRequest) -> Future[StepOutput | None]:
        """Send the step now (a partial is skipped while the engine is down or its queue is too deep); cancelling
        the future aborts the request."""
        future: Future[StepOutput | None] = Future()
        if not request.urgent and (not self.reachable or self.load.waiting >= self._config.shed_queue_depth):
            self.shed += 1
            log.debug("engine queue at %d: skipping a partial step of %s", self.load.waiting, request.label)
            asyncio.get_running_loop().call_soon(_settle, future, None)
            return future
        if not request.urgent and self.finals_waiting():
            self.held_for_finals += 1
            asyncio.get_running_loop().call_soon(_settle, future, None)
            return future
        future.add_done_callback(self._withdrawn)
        self._send(future, request)
        return future

    def finals_waiting(self) -> bool:
        """True while a final sent by us has gone unanswered for longer than FINAL_WAIT_SECONDS."""
        oldest = min(self._finals_sent.values(), default=None)
        return oldest is not None and time.monotonic() - oldest >= FINAL_WAIT_SECONDS

    def _final_sent(self, future: Future[StepOutput | None]) -> None:
        self._finals_sent[future] = time.monotonic()
        asyncio.get_running_loop().call_later(FINAL_WAIT_SECONDS, self._make_room_for, future)

    def _make_room_for(self, final: Future[StepOutput | None]) -> None:
        """A final is still unanswered after FINAL_WAIT_SECONDS: abort the partials in flight (skipped steps)."""
        if final not in self._finals_sent:
            return
        partials = [(future, task) for future, (request, task) in self._tasks.items()
                    if not request.urgent and not task.done()]
        for future, task in partials:
            del self._tasks[future]
            task.cancel()
            self.held_for_finals += 1
            asyncio.get_running_loop().call_soon(_settle, future, None)
        if partials:
            log.debug("a final waits: aborted %d partials in flight", len(partials))

    def promote(self, future: Future[StepOutput | None], final: DecodeRequest) -> bool:
        """The utterance stopped while its partial is in flight: abort that request and send `final` instead, which
        answers the same future. False once the answer is in (or the step was never sent)."""
        entry = self._tasks.get(future)
        if entry is None or entry[1].done():
            return False
        entry[1].cancel()
        self.cancelled += 1
        self._send(future, final)
        return True

    def _withdrawn(self, future: Future[StepOutput | None]) -> None:
        """Nobody waits for this step any more (session closed, utterance cancelled): abort its request."""
        if not future.cancelled():
            return
        entry = self._tasks.pop(future, None)
        self._finals_sent.pop(future, None)
        if entry is not None and not entry[1].done():
            entry[1].cancel()
            self.cancelled += 1

    def _send(self, future: Future[StepOutput | None], request: DecodeRequest) -> None:
        task = asyncio.create_task(self._decode(future, request), name=f"decode {request.label}")
        self._tasks[future] = (request, task)
        if request.urgent:
            self._final_sent(future)

    async def _decode(self, future: Future[StepOutput | None], request: DecodeRequest) -> None:
        me = asyncio.current_task()
        try:
            answer: StepOutput | DecodeFailed = await self._request(request)
        except DecodeFailed as failure:
            answer = failure
        finally:
            entry = self._tasks.get(future)
            if entry is not None and entry[1] is me:
                del self._tasks[future]
                self._finals_sent.pop(future, None)
        _settle(future, answer)

    async def _request(self, job: DecodeRequest) -> StepOutput:
        assert self._text is not None, "submit() before the engine loaded"
        prefix = self._text.rollback(job.prefix_raw, job.rollback_tokens) if job.prefix_raw else ""
        body = chat_request(self._model, context=job.context, language=job.language, audio=job.audio,
                            prefix=prefix, priority=PRIORITY_FINAL if job.urgent else PRIORITY_PARTIAL,
                            max_tokens=self._config.max_new_tokens)
        self._requests += 1
        self._audio_seconds += len(job.audio) / SAMPLE_RATE
        started = time.monotonic()
        try:
            generated = await self._client.complete(body)
        except EngineError as error:
            if self._metrics is not None:
                self._metrics.decoded(job.urgent, time.monotonic() - started, ok=False)
            self._failed += 1
            self.last_decode_ok, self.last_error = False, str(error)
            refused = isinstance(error, EngineRefused)
            if refused:
                log.error("the engine refused a step of %s (not sent again): %s", job.label, error)
            else:
                log.warning("decode failed for %s: %s", job.label, error)
            raise DecodeFailed(str(error), refused=refused) from error
        self.last_decode_ok = True
        if self._metrics is not None:
            self._metrics.decoded(job.urgent, time.monotonic() - started, ok=True)
        # The same line as the inference thread's, so scripts/bench_latency.py times engine steps too.
        log.debug("step of 1 items in %.3f s (%s)", time.monotonic() - started, job.label)
        raw = prefix + generated
        if len(raw) > _PARSE_ON_LOOP_CHARS:
            language, text = await asyncio.to_thread(self._text.parse, raw, job.language)
        else:
            language, text = self._text.parse(raw, job.language)
        return StepOutput(raw=raw, language=language, text=text)

    def health(self) -> dict[str, object]:
        """The engine's part of /healthz."""
        return {"url": self._client.url, "reachable": self.reachable, "model": self._model,
                "last_decode_ok": self.last_decode_ok, "last_error": self.last_error[:300],
                "queue_waiting": self.load.waiting, "queue_running": self.load.running,
                "in_flight": len(self._tasks), "finals_in_flight": len(self._finals_sent),
                "shed_partials": self.shed, "held_for_finals": self.held_for_finals, "aborted": self.cancelled,
                "priority": self._client.send_priority}


def _settle(future: Future[StepOutput | None], answer: StepOutput | DecodeFailed | None) -> None:
    """On the loop: answer `future` (None: skipped) unless it was cancelled meanwhile."""
    if future.done():
        return
    if isinstance(answer, DecodeFailed):
        future.set_exception(answer)
    else:
        future.set_result(answer)
