"""One client connection's protocol state, without a socket: messages in, messages and decode requests out (to the
`Engine`, through the connection's `StepQuota`; each answer comes back on the step's future).

Runs on the asyncio thread only. Bad input never ends the session: every problem is answered with an `error`
message that says what to send instead (at most --max-bad-messages-per-second of them), and the session goes on. Words are never dropped silently: a second
`start` finalizes the open utterance first, and an utterance over the length limit is finalized and continued.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future

from asr_server.config import ServerConfig
from asr_server.engine.base import DecodeFailed, DecodeRequest, Engine, EngineInfo, StepOutput
from asr_server.error_replies import ErrorReplies
from asr_server.fair_share import StepQuota
from asr_server.metrics import ServerMetrics, SessionMeter
from asr_server.speculation import SpeculativeFinals
from asr_server.streaming import BYTES_PER_SAMPLE, StepInput, StreamSettings, UtteranceStream
from asr_server.utterances import Contexts, LengthLimit
from dictation_core import protocol
from dictation_core.protocol import SAMPLE_RATE, ProtocolError

log = logging.getLogger(__name__)

_session_numbers = itertools.count(1)


class Session:
    """Protocol v1 for one connection: hello options, the open utterance, and utterances still decoding."""

    def __init__(self, config: ServerConfig, info: EngineInfo, send: Callable[[str], None], engine: Engine,
                 metrics: ServerMetrics | None = None) -> None:
        self.number = next(_session_numbers)
        self._config = config
        self._info = info
        self._send = send
        self._meter = SessionMeter(metrics)  # counts, and each final's time since its stop
        self._quota = StepQuota(engine, config.max_session_steps, config.max_session_backlog)
        self._guesses = SpeculativeFinals(self._quota, self._guess_settled)
        self._steps: dict[UtteranceStream, Future[StepOutput | None]] = {}  # the step of each stream in flight
        self._settings = StreamSettings.from_seconds(config.chunk_seconds, config.window_seconds,
                                                     config.unfixed_chunk_num, config.unfixed_token_num,
                                                     config.refeed_ratio)
        self._limit = LengthLimit(config.max_utterance_seconds)
        self._language = protocol.normalize_language(config.language)
        self._contexts = Contexts()
        self._open: UtteranceStream | None = None
        self._decoding: set[UtteranceStream] = set()
        self._sent_text: dict[UtteranceStream, str] = {}
        self._auto_ids = itertools.count(1)
        self._closed = False
        self._errors = ErrorReplies(self.number, send, self._meter, config.max_bad_messages_per_second)

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
            self._errors.send(error.code, error.message)

    def on_binary(self, data: bytes) -> None:
        """A binary frame: int16 little-endian mono 16 kHz PCM for the open utterance."""
        problem = _frame_problem(data, self._config.max_frame_bytes, self._open is not None)
        if problem:
            self._errors.send(protocol.BAD_MESSAGE, problem)
        else:
            self._feed(data)

    def backoff_seconds(self) -> float:
        """How long to stop reading this client (see ErrorReplies.backoff_seconds)."""
        return self._errors.backoff_seconds()

    def close(self) -> None:
        """The connection ended: drop the open utterance and every result still on its way."""
        self._closed = True
        self._open = None
        for stream in list(self._decoding | set(self._steps)):
            self._forget(stream)  # which leaves every per-stream table empty

    # -- events ---------------------------------------------------------------------------------------------

    def _hello(self, hello: protocol.Hello) -> None:
        self._language = _session_language(hello.language or protocol.normalize_language(self._config.language),
                                           self._info.supported_languages)
        self._contexts.session = hello.context or ""
        self._send(protocol.ready(self._info.model, self._info.backend, final_timeout_s=self._info.final_timeout_s))

    def _start(self, utterance_id: str | None, context: str = "") -> None:
        if self._open is not None:
            previous = self._open.utterance_id
            self._stop()
            self._errors.send(protocol.BAD_MESSAGE, f"start while utterance {previous} was open: it was stopped and "
                        "will get its final; send stop before the next start", previous)
        self._contexts.start(context)
        self._open = self._new_stream(self._limit.start(utterance_id or f"u{next(self._auto_ids)}"))

    def _stop(self) -> None:
        if self._open is None:
            raise ProtocolError(protocol.BAD_MESSAGE, "stop without an open utterance: send start, audio, stop")
        stream, self._open = self._open, None
        stream.stop()
        self._meter.stopped(stream)
        if not self._guesses.stop(stream):
            self._stop_ordinarily(stream)

    def _stop_ordinarily(self, stream: UtteranceStream) -> None:
        """The final's decode: the stream's step in flight becomes it if it still can (one decode instead of two),
        else the final is the stream's next step."""
        future = self._steps.get(stream)
        window = stream.extended_window() if future is not None else None
        if future is not None and window is not None and self._quota.promote(future, window):
            stream.extend_in_flight(window)
        self._pump(stream)

    def _guess_settled(self, stream: UtteranceStream, output: StepOutput | None) -> None:
        if output is None:
            self._stop_ordinarily(stream)
        else:
            self._finish(stream, output)

    def _silence(self) -> None:
        """The client heard silence and holds its audio: decode the final now (see speculation.py)."""
        if self._open is None:
            raise ProtocolError(protocol.BAD_MESSAGE, "silence without an open utterance: send it between start "
                                "and stop")
        stream = self._open
        step = stream.speculative_step()
        if step is not None:
            self._guesses.start(stream, self._request(stream, step))

    def _cancel(self) -> None:
        if self._open is None:
            raise ProtocolError(protocol.BAD_MESSAGE, "cancel without an open utterance")
        stream, self._open = self._open, None
        self._end(stream)

    def _feed(self, data: bytes) -> None:
        assert self._open is not None
        stream = self._open
        self._guesses.drop(stream)  # speech resumed: a speculative final is stale
        room = self._limit.room_bytes(stream)
        if len(data) <= room:
            stream.feed(data)
            self._pump(stream)
            return
        # Over the length limit: finalize what is there, continue the rest as "<id>.2", "<id>.3", ...
        if room > 0:
            stream.feed(data[:room])
        self._errors.send(protocol.TOO_LONG, self._limit.cut_message(stream), stream.utterance_id)
        self._open = None
        stream.stop()
        self._stop_ordinarily(stream)
        self._open = self._new_stream(self._limit.next_id())
        self._feed(data[max(room, 0):])

    # -- decoding -------------------------------------------------------------------------------------------

    def _new_stream(self, utterance_id: str) -> UtteranceStream:
        stream = UtteranceStream(utterance_id, self._settings)
        self._decoding.add(stream)
        self._sent_text[stream] = ""
        self._contexts.opened(stream)
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
        request = self._request(stream, step)
        future = self._quota.offer(request)
        if future is None:
            self._refuse(stream, request)
            return
        self._steps[stream] = future
        self._meter.step(request.urgent)
        future.add_done_callback(lambda answer: self._on_step(stream, answer))

    def _request(self, stream: UtteranceStream, step: StepInput) -> DecodeRequest:
        return DecodeRequest(label=f"session {self.number} utterance {stream.utterance_id}",
                             context=self._contexts.of(stream), language=self._language, audio=step.audio,
                             prefix_raw=step.prefix_raw, rollback_tokens=step.rollback_tokens, urgent=step.urgent)

    def _refuse(self, stream: UtteranceStream, request: DecodeRequest) -> None:
        """This connection already has its share queued: skip a partial, answer a final with a busy error."""
        stream.step_failed()
        if request.urgent:
            waiting = self._quota.active + self._quota.held
            self._end(stream, protocol.BUSY, f"utterance {stream.utterance_id} was not decoded: this connection "
                      f"already has {waiting} utterances waiting for the engine; send it again after the next final")

    def _on_step(self, stream: UtteranceStream, answer: Future[StepOutput | None]) -> None:
        if answer.cancelled() or self._steps.get(stream) is not answer:
            return  # withdrawn: nothing more is sent for this stream
        del self._steps[stream]  # one step per stream at a time: this is the one answered
        if self._closed or stream.finished:
            return
        failure = answer.exception()
        if failure is None and (output := answer.result()) is not None:
            self._apply(stream, output)
            return
        stream.step_failed()
        if failure is None:  # skipped on purpose (engine queue deep): the next audio retries
            self._pump(stream)
        elif stream.stopped and isinstance(failure, DecodeFailed) and failure.refused:
            # The engine refuses this very request: sending the utterance again would be refused again,
            # forever. The final carries what was decoded so far; the log and /healthz say why.
            log.error("session %d: the engine refused the final step of %s; sending the text decoded so far "
                      "as its final: %s", self.number, stream.utterance_id, failure)
            self._finish(stream)
        elif stream.stopped:
            log.warning("session %d: final decode of %s failed: %s", self.number, stream.utterance_id, failure)
            self._end(stream, protocol.ENGINE, f"decoding utterance {stream.utterance_id} failed ({failure}); "
                      "send it again")
        else:
            log.warning("session %d: partial decode of %s failed (the next step retries): %s",
                        self.number, stream.utterance_id, failure)

    def _apply(self, stream: UtteranceStream, output: StepOutput) -> None:
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
        self._meter.final(stream)
        self._end(stream)
        text = stream.text if output is None else stream.text_with(output)
        language = (output.language if output is not None else "") or stream.language or self._language or ""
        self._send(protocol.final(stream.utterance_id, text, language))

    def _end(self, stream: UtteranceStream, code: str = "", message: str = "") -> None:
        """`stream` is done (with the error `code` when it gets no final)."""
        stream.finished = True
        self._forget(stream)
        if code:
            self._errors.send(code, message, stream.utterance_id)

    def _forget(self, stream: UtteranceStream) -> None:
        """Nothing more will be sent for `stream`: a step of it still at the engine is aborted."""
        self._decoding.discard(stream)
        future = self._steps.pop(stream, None)
        if future is not None:
            future.cancel()  # aborts it at the engine, or drops it from this connection's queue
        self._guesses.drop(stream)
        self._sent_text.pop(stream, None)
        self._contexts.forget(stream)
        self._meter.forget(stream)


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
