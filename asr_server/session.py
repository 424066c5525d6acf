"""One client connection's protocol state, without a socket: messages in, messages and decode jobs out.

Runs on the asyncio thread only. Bad input never ends the session: every problem is answered with an `error`
message that says what to send instead (at most --max-bad-messages-per-second of them), and the session goes on. Words are never dropped silently: a second
`start` finalizes the open utterance first, and an utterance over the length limit is finalized and continued.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import numpy as np

from asr_server.backends.base import EngineInfo
from asr_server.config import ServerConfig
from asr_server.fair_share import StepQuota
from asr_server.log_limit import PerSecond, ThrottledLog
from asr_server.metrics import ServerMetrics, SessionMeter
from asr_server.scheduler import DecodeJob
from asr_server.speculation import SpeculativeFinals
from asr_server.streaming import (
    BYTES_PER_SAMPLE,
    SAMPLE_RATE,
    StepInput,
    StepOutput,
    StreamSettings,
    UtteranceStream,
)
from dictation_core import protocol
from dictation_core.protocol import ProtocolError

log = logging.getLogger(__name__)

_session_numbers = itertools.count(1)


class Session:
    """Protocol v1 for one connection: hello options, the open utterance, and utterances still decoding."""

    def __init__(self, config: ServerConfig, engine: EngineInfo, send: Callable[[str], None],
                 submit: Callable[[DecodeJob], None],
                 promote: Callable[[DecodeJob, np.ndarray], bool] = lambda job, audio: False,
                 cancel: Callable[[DecodeJob], None] = lambda job: None,
                 metrics: ServerMetrics | None = None) -> None:
        self.number = next(_session_numbers)
        self._config = config
        self._engine = engine
        self._send = send
        self._promote = promote
        self._cancel_job = cancel
        self._meter = SessionMeter(metrics)  # counts, and each final's time since its stop
        self._quota = StepQuota(submit, config.max_session_steps, config.max_session_backlog)
        self._guesses = SpeculativeFinals(self._quota.offer, self._withdraw, self._quota.done, self._finish,
                                          self._stop_ordinarily)
        self._queued_jobs: dict[UtteranceStream, DecodeJob] = {}
        self._settings = StreamSettings.from_seconds(config.chunk_seconds, config.window_seconds,
                                                     config.unfixed_chunk_num, config.unfixed_token_num,
                                                     config.refeed_ratio)
        self._max_samples = max(1, round(config.max_utterance_seconds * SAMPLE_RATE))
        self._language = protocol.normalize_language(config.language)
        self._context = ""
        self._open: UtteranceStream | None = None
        self._open_base_id = ""
        self._continuations = 0
        self._decoding: set[UtteranceStream] = set()
        self._sent_text: dict[UtteranceStream, str] = {}
        # Per-utterance context (start's "context"): each stream of the utterance, continuations included,
        # decodes with the hello's glossary and then this.
        self._open_context = ""
        self._contexts: dict[UtteranceStream, str] = {}
        self._auto_ids = itertools.count(1)
        self._closed = False
        self._bad_log = ThrottledLog(log)
        self._bad_answers = PerSecond(config.max_bad_messages_per_second)

    # -- messages from the client ---------------------------------------------------------------------------

    def on_text(self, raw: str) -> None:
        """A text frame: one protocol v1 event."""
        try:
            event = protocol.parse_event(raw, max_context_chars=self._config.max_context_chars)
            if isinstance(event, protocol.Hello):
                self._hello(event)
            elif isinstance(event, protocol.Start):
                self._start(event.utterance_id, event.context or "")
            else:
                {protocol.Stop: self._stop, protocol.Silence: self._silence}.get(type(event), self._cancel)()
        except ProtocolError as error:
            self._error(error.code, error.message)

    def on_binary(self, data: bytes) -> None:
        """A binary frame: int16 little-endian mono 16 kHz PCM for the open utterance."""
        problem = _frame_problem(data, self._config.max_frame_bytes, self._open is not None)
        if problem:
            self._error(protocol.BAD_MESSAGE, problem)
        else:
            self._feed(data)

    def backoff_seconds(self) -> float:
        """How long to stop reading this client: the rest of the second once it used up its bad-message
        allowance (a flood of bad messages otherwise takes the event loop's time from every other session)."""
        return self._bad_answers.wait()

    def close(self) -> None:
        """The connection ended: drop the open utterance and every result still on its way."""
        self._closed = True
        self._open = None
        for stream in list(self._decoding | set(self._queued_jobs)):
            self._forget(stream)
        self._decoding.clear()
        self._sent_text.clear()
        self._contexts.clear()
        self._queued_jobs.clear()

    # -- events ---------------------------------------------------------------------------------------------

    def _hello(self, hello: protocol.Hello) -> None:
        self._language = _session_language(hello.language or protocol.normalize_language(self._config.language),
                                           self._engine.supported_languages)
        self._context = hello.context or ""
        self._send(protocol.ready(self._engine.model, self._engine.backend,
                                  final_timeout_s=self._engine.final_timeout_s))

    def _start(self, utterance_id: str | None, context: str = "") -> None:
        if self._open is not None:
            previous = self._open.utterance_id
            self._stop()
            self._error(protocol.BAD_MESSAGE, f"start while utterance {previous} was open: it was stopped and "
                        "will get its final; send stop before the next start", previous)
        base = utterance_id or f"u{next(self._auto_ids)}"
        self._open_base_id = base
        self._continuations = 0
        self._open_context = context
        self._open = self._new_stream(base)

    def _stop(self) -> None:
        if self._open is None:
            raise ProtocolError(protocol.BAD_MESSAGE, "stop without an open utterance: send start, audio, stop")
        stream, self._open = self._open, None
        stream.stop()
        self._meter.stopped(stream)
        if not self._guesses.stop(stream):
            self._stop_ordinarily(stream)

    def _stop_ordinarily(self, stream: UtteranceStream) -> None:
        self._promote_queued_step(stream)
        self._pump(stream)

    def _silence(self) -> None:
        """The client heard silence and holds its audio: decode the final now (see speculation.py)."""
        if self._open is None:
            raise ProtocolError(protocol.BAD_MESSAGE, "silence without an open utterance: send it between start "
                                "and stop")
        stream = self._open
        step = stream.speculative_step()
        if step is not None:
            self._guesses.start(stream, lambda done: self._job(stream, step, done))

    def _promote_queued_step(self, stream: UtteranceStream) -> None:
        """If the stream's partial step has not started yet, turn it into the final (see InferenceWorker.promote)."""
        job = self._queued_jobs.get(stream)
        window = stream.extended_window() if job is not None else None
        if job is not None and window is not None and (self._quota.promote(job, window)
                                                       or self._promote(job, window)):
            stream.extend_in_flight(window)

    def _cancel(self) -> None:
        if self._open is None:
            raise ProtocolError(protocol.BAD_MESSAGE, "cancel without an open utterance")
        stream, self._open = self._open, None
        stream.finished = True
        self._forget(stream)

    def _feed(self, data: bytes) -> None:
        assert self._open is not None
        stream = self._open
        self._guesses.drop(stream)  # speech resumed: a speculative final is stale
        room = (self._max_samples - stream.total_samples) * BYTES_PER_SAMPLE
        if len(data) <= room:
            stream.feed(data)
            self._pump(stream)
            return
        # Over the length limit: finalize what is there, continue the rest as "<id>.2", "<id>.3", ...
        if room > 0:
            stream.feed(data[:room])
        self._error(protocol.TOO_LONG, f"utterance {stream.utterance_id} is over "
                    f"{self._config.max_utterance_seconds:g} s: sent its final so far, the audio goes on as "
                    "a new utterance", stream.utterance_id)
        self._open = None
        stream.stop()
        self._promote_queued_step(stream)
        self._pump(stream)
        self._continuations += 1
        self._open = self._new_stream(f"{self._open_base_id}.{self._continuations + 1}")
        self._feed(data[max(room, 0):])

    # -- decoding -------------------------------------------------------------------------------------------

    def _new_stream(self, utterance_id: str) -> UtteranceStream:
        stream = UtteranceStream(utterance_id, self._settings)
        self._decoding.add(stream)
        self._sent_text[stream] = ""
        if self._open_context:
            self._contexts[stream] = self._open_context
        return stream

    def _pump(self, stream: UtteranceStream) -> None:
        """Submit the stream's next step if it has one; send the final when nothing is left to decode."""
        if self._closed or stream.finished or self._guesses.waiting_for(stream):
            return
        if stream.final_without_decode():
            self._finish(stream)
            return
        step = stream.next_step()
        if step is None:
            return
        self._queued_jobs[stream] = job = self._job(
            stream, step, lambda output, error: self._on_step(stream, output, error))
        if not self._quota.offer(job):
            self._refuse(stream, job)
        else:
            self._meter.step(job.urgent)

    def _job(self, stream: UtteranceStream, step: StepInput, done: Callable[..., None]) -> DecodeJob:
        context = "\n\n".join(part for part in (self._context, self._contexts.get(stream, "")) if part)
        return DecodeJob(label=f"session {self.number} utterance {stream.utterance_id}", context=context,
                         language=self._language, audio=step.audio, prefix_raw=step.prefix_raw,
                         rollback_tokens=step.rollback_tokens, urgent=step.urgent, done=done,
                         cancelled=lambda: self._closed or stream.finished)

    def _withdraw(self, job: DecodeJob) -> None:
        if self._quota.withdraw(job):
            self._cancel_job(job)

    def _refuse(self, stream: UtteranceStream, job: DecodeJob) -> None:
        """This connection already has its share queued: skip a partial, answer a final with a busy error."""
        del self._queued_jobs[stream]
        stream.step_failed()
        if not job.urgent:
            return
        stream.finished = True
        self._forget(stream)
        self._error(protocol.BUSY, f"utterance {stream.utterance_id} was not decoded: this connection already "
                    f"has {self._quota.active + self._quota.held} utterances waiting for the engine; send it "
                    "again after the next final", stream.utterance_id)

    def _on_step(self, stream: UtteranceStream, output: StepOutput | None, error: str | None) -> None:
        job = self._queued_jobs.pop(stream, None)  # one step per stream at a time: this is the one answered
        if job is not None:
            self._quota.done(job)
        if self._closed or stream.finished:
            return
        if output is None and error is None:  # skipped on purpose (engine queue deep): the next audio retries
            stream.step_failed()
            self._pump(stream)
            return
        if output is None:
            stream.step_failed()
            if stream.stopped and job is not None and job.refused:
                # The engine refuses this very request: sending the utterance again would be refused again,
                # forever. The final carries what was decoded so far; the log and /healthz say why.
                log.error("session %d: the engine refused the final step of %s; sending the text decoded so far "
                          "as its final: %s", self.number, stream.utterance_id, error)
                self._finish(stream)
                return
            if stream.stopped:
                log.warning("session %d: final decode of %s failed: %s", self.number, stream.utterance_id, error)
                stream.finished = True
                self._forget(stream)
                self._error(protocol.ENGINE, f"decoding utterance {stream.utterance_id} failed ({error}); "
                            "send it again", stream.utterance_id)
            else:
                log.warning("session %d: partial decode of %s failed (the next step retries): %s",
                            self.number, stream.utterance_id, error)
            return
        stream.apply(output)
        if stream.stopped and stream.final_without_decode():
            self._finish(stream)
            return
        text = stream.text
        if text != self._sent_text.get(stream) and text:
            self._sent_text[stream] = text
            self._send(protocol.partial(stream.utterance_id, text))
        self._pump(stream)

    def _finish(self, stream: UtteranceStream, output: StepOutput | None = None) -> None:
        """Send the final: the stream's text, or `output` as its window's final text (a speculative final)."""
        stream.finished = True
        self._meter.final(stream)
        self._forget(stream)
        text = stream.text if output is None else stream.text_with(output)
        language = (output.language if output is not None else "") or stream.language or (self._language or "")
        self._send(protocol.final(stream.utterance_id, text, language))

    def _forget(self, stream: UtteranceStream) -> None:
        """Nothing more will be sent for `stream`: a step of it still at the engine is aborted."""
        self._decoding.discard(stream)
        job = self._queued_jobs.pop(stream, None)
        if job is not None:
            self._withdraw(job)
        self._guesses.drop(stream)
        self._sent_text.pop(stream, None)
        self._contexts.pop(stream, None)
        self._meter.forget(stream)

    def _error(self, code: str, message: str, utterance_id: str | None = None) -> None:
        self._meter.error(code)
        if code == protocol.BAD_MESSAGE and utterance_id is None:
            # A flood of bad messages gets a bounded number of answers and log lines; an error that carries an
            # id stands for a final (or says one is coming) and is always sent.
            self._bad_log.note("session %d: %s: %s", self.number, code, message)
            if not self._bad_answers.allow():
                return
        else:
            log.info("session %d: %s: %s", self.number, code, message)
        self._send(protocol.error(code, message, utterance_id))


def _session_language(language: str | None, supported: tuple[str, ...]) -> str | None:
    """The language a hello asks for (None: detect), refused when the model does not know it."""
    if language is not None and supported and language not in supported:
        raise ProtocolError(protocol.BAD_MESSAGE, f"hello language {language!r} is not supported; "
                            f"use null to detect, or one of {', '.join(supported)}")
    return language


def _frame_problem(data: bytes, max_frame_bytes: int, utterance_open: bool) -> str | None:
    """What is wrong with an audio frame, saying what to send instead (None: nothing)."""
    if len(data) > max_frame_bytes:
        return (f"audio frame of {len(data)} bytes is over the {max_frame_bytes}-byte limit: send at most "
                f"{max_frame_bytes // (BYTES_PER_SAMPLE * SAMPLE_RATE // 1000)} ms per frame")
    if len(data) % BYTES_PER_SAMPLE:
        return (f"audio frame of {len(data)} bytes is not whole int16 samples: send 16-bit little-endian mono "
                "PCM (an even number of bytes)")
    if not utterance_open:
        return f"audio before start: send {{\"event\":\"start\"}} first; {len(data)} bytes ignored"
    return None
