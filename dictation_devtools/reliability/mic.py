"""The microphone failing and coming back, with the real pipeline in-process so its state can be watched.

The real Pipeline (MicSource, Silero VAD, segmenter, link) runs against the real asr_server (in-process, scripted
backend) with the TapeMic behind a fake `pyaudio`. The run records every state change and final, unplugs the mic at
a chosen sample of the tape, checks that the state is ERROR while it is gone, plugs it back, and collects what was
output, so the caller can compare it with a clean run's.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from dictation_devtools.reliability.dictation import Dictation
from dictation_devtools.reliability.fake_mic import TapeMic, installed
from dictation_devtools.servers import running_server
from dictation_devtools.stand_in_backends import ScriptedBackend
from tray_client.capture import mic_source as mic_source_module
from tray_client.capture import pump as pump_module
from tray_client.config import ClientConfig
from tray_client.events import ClientState, FinalText, Notice, PipelineEvent, StateChanged
from tray_client.pipeline import Pipeline

SETTLE_S = 1.5  # after the last expected final, wait this long for a duplicate that should never come


class LineSink:
    """The output boundary: records each final as a line, like `--output stdout` (no spacing)."""

    spaced = False

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def emit(self, text: str) -> None:
        with self.changed:
            self.lines.append(text)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.lines) >= count, timeout)


class EventLog:
    """Every pipeline event with its time (the listener runs on the pipeline thread)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.items: list[tuple[float, PipelineEvent]] = []
        self._changed = threading.Condition()
        self._started = time.monotonic()
        pipeline.subscribe(self._on_event)

    def _on_event(self, event: PipelineEvent) -> None:
        with self._changed:
            self.items.append((time.monotonic() - self._started, event))
            self._changed.notify_all()

    def now(self) -> float:
        return time.monotonic() - self._started

    def wait(self, predicate: object, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)  # type: ignore[operator]

    def states(self) -> list[StateChanged]:
        with self._changed:
            return [event for _, event in self.items if isinstance(event, StateChanged)]

    def first(self, kind: type, since: float, text: str = "") -> float | None:
        """When the first event of `kind` (whose message or detail holds `text`) came after `since`."""
        with self._changed:
            for at, event in self.items:
                body = getattr(event, "message", "") or getattr(event, "detail", "")
                if at >= since and isinstance(event, kind) and text in body:
                    return at
        return None


@dataclass
class MicRun:
    """What a mic run output and what the user saw meanwhile."""

    name: str
    lines: list[str]  # what reached the output, in order
    final_ids: list[str]
    error_details: list[str] = field(default_factory=list)  # ERROR states shown
    state_while_gone: ClientState | None = None  # sampled at the end of the outage
    error_notices: int = 0
    opens: int = 0  # times the device was opened
    recovered_s: float | None = None  # from plugging it back to the "working again" notice
    seconds: float = 0.0


@contextlib.contextmanager
def _patched(stall_timeout_s: float, retry_s: float) -> Iterator[None]:
    """How fast a dead mic is noticed and retried (product defaults: 2 s and 3 s), restored after."""
    saved = mic_source_module.STALL_TIMEOUT_S, pump_module.MIC_RETRY_S
    mic_source_module.STALL_TIMEOUT_S, pump_module.MIC_RETRY_S = stall_timeout_s, retry_s
    try:
        yield
    finally:
        mic_source_module.STALL_TIMEOUT_S, pump_module.MIC_RETRY_S = saved


def mic_run(dictation: Dictation, *, name: str, unplug_at_s: float | None = None, resume_at_s: float | None = None,
            outage_s: float = 2.0, speed: float = 2.0, stall_timeout_s: float = 2.0, retry_s: float = 3.0,
            timeout: float = 90.0) -> MicRun:
    """Play the dictation into the mic; unplug at `unplug_at_s` of the tape, hold `outage_s` after the error
    shows, plug back (going on at `resume_at_s`); return once every phrase was output or `timeout` passed."""
    started = time.monotonic()
    sample = dictation.sample
    mic = TapeMic(sample.samples, speed=speed)
    if unplug_at_s is not None:
        mic.unplug_at = round(unplug_at_s * 16_000)
        mic.resume_at = round(resume_at_s * 16_000) if resume_at_s is not None else None
    backend = ScriptedBackend.load(dictation.phrases_file)
    sink = LineSink()
    with _patched(stall_timeout_s, retry_s), installed(mic), \
            running_server(backend_factory=lambda config: backend) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, input_device=mic.name, start_listening=True),
                            sink=sink)
        events = EventLog(pipeline)
        pipeline.start()
        result = MicRun(name, [], [])
        try:
            if unplug_at_s is not None:
                assert mic.unplugged.wait(timeout), "the tape never reached the unplug point"
                assert events.wait(lambda e: any(s.state is ClientState.ERROR for s in e.states()), timeout), \
                    "no error state after the mic was unplugged"
                time.sleep(outage_s)  # several retries while it is gone
                result.state_while_gone = pipeline.state
                plugged_at = events.now()
                mic.plug()
                working = events.wait(lambda e: e.first(Notice, plugged_at, "working again") is not None, timeout)
                if working:
                    result.recovered_s = round(events.first(Notice, plugged_at, "working again")  # type: ignore
                                               - plugged_at, 3)
            sink.wait_for(len(dictation.texts), timeout)
            time.sleep(SETTLE_S)
        finally:
            pipeline.shutdown()
    result.lines = list(sink.lines)
    result.final_ids = [event.utterance_id for _, event in events.items if isinstance(event, FinalText)]
    result.error_details = [s.detail for s in events.states() if s.state is ClientState.ERROR]
    result.error_notices = sum(1 for _, e in events.items if isinstance(e, Notice) and e.level == "error")
    result.opens = mic.opens
    result.seconds = round(time.monotonic() - started, 1)
    return result
