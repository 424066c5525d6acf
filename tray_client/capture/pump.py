"""Capture: from the audio source to utterances on the link, on the pipeline's asyncio thread.

It chooses the source (a test's, a WAV file or the microphone), reopens a failing microphone every few seconds,
scores frames with Silero on this thread (only when the segmenter needs a score), feeds the segmenter,
and hands its utterances to the link (`open` / `append` / `close`). Frames come and are scored a block at a time
(audio_source.BLOCK_FRAMES): one wake-up per block, not per frame; the segmenter still sees
every frame with the probability Silero gave it in order (exactly the cuts of frame-by-frame scoring). With
`vad_energy_gate` (the default), blocks that are all noise floor outside an utterance (capture/noise_gate.py) are
held back unscored until a block rises above the floor (HOLD_FRAMES); the floor is learned from the frames Silero
scored as not speech. On the fidelity recordings that cuts exactly as scoring every frame (BENCHMARKS.md, issue 22). The audio pump runs only while audio is wanted: while listening
(and while an utterance is open).

What "listening" means depends on the mode. In VAD mode speech opens an utterance. In push-to-talk and toggle
modes only the hotkey does: listening there means the hotkey is armed (the mic is open for its pre-roll), and the
VAD never opens an utterance on its own (before, speech with no key held was typed). Those modes start armed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import numpy as np

from tray_client._hub import Hub
from tray_client.capture.audio_source import AudioSource, AudioSourceError, MicSource, WavSource
from tray_client.capture.noise_gate import NoiseGate, level_db
from tray_client.capture.segmenter import (
    SAMPLE_RATE,
    Segmenter,
    SegmenterSettings,
    SegmentEvent,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceSilence,
    UtteranceStarted,
)
from tray_client.capture.vad import SileroVad
from tray_client.config import ClientConfig
from tray_client.events import Command, NoticeCode, SpeechSegment

log = logging.getLogger(__name__)

HOLD_FRAMES = 256
"""With the energy gate, how many noise-floor frames (8.2 s) wait unscored and unfed while nobody speaks. When a block
rises above the floor they are scored first and fed in order: Silero and the segmenter then see what scoring every
frame gives them (an onset in the quiet frames before the loud block included), as long as the quiet stretch since
Silero's last score or reset was no longer. Frames older than that reach the segmenter unscored (as silence)."""


async def blocks_of(source: AudioSource) -> AsyncIterator[list[np.ndarray]]:
    """The source's frames in the blocks it delivers them in (one frame per block for a source without them)."""
    blocks = getattr(source, "blocks", None)
    if blocks is not None:
        async for block in blocks():
            yield block
        return
    async for frame in source.frames():
        yield [frame]

MIC_RETRY_S = 3.0  # how often a missing microphone is looked for again
MANUAL_MODES = ("ptt", "toggle")
"""Modes where only the hotkey opens an utterance; "listening" arms the hotkey there."""


def starts_listening(config: ClientConfig) -> bool:
    """Whether a run starts listening: `start_listening`, or a mode whose hotkey is armed from the start (the
    push-to-talk key worked from the start before listening meant arming, and it still does)."""
    return config.start_listening or config.mode in MANUAL_MODES


class UtteranceSink(Protocol):
    """Where utterances go (the link)."""

    def open(self, utterance_id: str) -> None: ...
    def append(self, utterance_id: str, pcm: bytes) -> None: ...
    def close(self, utterance_id: str) -> None: ...
    def silence(self, utterance_id: str, silence_ms: int) -> None: ...


def segmenter_settings(config: ClientConfig) -> SegmenterSettings:
    return SegmenterSettings(threshold=config.vad_threshold, min_silence_ms=config.min_silence_ms,
                             preroll_ms=config.preroll_ms, max_utterance_s=config.max_utterance_s,
                             speculative_silence_ms=config.speculative_silence_ms)


class Capture:
    """The audio pump, the VAD schedule and the segmenter. Use it on the pipeline thread only."""

    def __init__(self, config: ClientConfig, *, source: AudioSource | None, hub: Hub, sink: UtteranceSink,
                 new_id: Callable[[], str],
                 on_change: Callable[[], None], on_fail: Callable[[str], None]) -> None:
        self._config = config
        self._source_override = source
        self._hub = hub
        self._sink = sink
        self._on_change = on_change
        self._on_fail = on_fail
        self._segmenter = Segmenter(segmenter_settings(config), new_id)
        # The initial listening state is set here, before any command can be posted: a LISTEN_ON/OFF sent while
        # the VAD model is still loading is then applied after it, never overwritten by it.
        self._armed = starts_listening(config) or self.finite
        self._segmenter.set_vad_enabled(self._vad_wanted())
        self._vad: SileroVad | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._wake_pump = asyncio.Event()
        self._stopping = False
        self.input_ended = False
        self.error = ""  # why the microphone does not work now (retried); "" when it works
        self._onset = 0  # of the open utterance, in samples since the input opened
        self._preroll = 0
        self._gate = NoiseGate() if config.vad_energy_gate else None
        self._held: list[np.ndarray] = []  # noise-floor frames the gate holds back, not yet scored nor fed
        self._resets = 0  # Silero state resets asked for so far (a block's later frames are then scored again)

    @property
    def finite(self) -> bool:
        """A file (or a finite test source): the run ends when it ends."""
        if self._source_override is not None:
            return bool(getattr(self._source_override, "finite", False))
        return bool(self._config.input_wav)

    @property
    def speaking(self) -> bool:
        return self._segmenter.is_open

    @property
    def listening(self) -> bool:
        return self._pump_task is not None and not self._pump_task.done()

    def vad_loaded(self, vad: SileroVad) -> None:
        """No audio is read before the VAD is loaded: it would go unscored."""
        self._vad = vad
        self.sync()

    def command(self, command: Command) -> None:
        """Listening on/off, push-to-talk, toggle."""
        self._release_held()
        segmenter = self._segmenter
        if command in (Command.LISTEN_ON, Command.LISTEN_OFF):
            self._armed = command is Command.LISTEN_ON
            self.handle(segmenter.set_vad_enabled(self._vad_wanted()))
            if not self._armed:  # disarmed while the key is held: that recording ends here
                self.handle(segmenter.stop_manual())
        elif command in (Command.PTT_DOWN, Command.TOGGLE_RECORD) and not self.hotkey_armed and not segmenter.manual:
            log.info("the %s hotkey is not armed (listening is off in %s mode): ignored", command.value,
                     self._config.mode)
        elif command is Command.PTT_DOWN:
            self.handle(segmenter.start_manual())
        elif command is Command.PTT_UP:
            self.handle(segmenter.stop_manual())
        elif command is Command.TOGGLE_RECORD:
            self.handle(segmenter.stop_manual() if segmenter.manual else segmenter.start_manual())
        self.sync()

    @property
    def hotkey_armed(self) -> bool:
        """Whether the push-to-talk / toggle hotkey records now (always in VAD mode, where it is an extra)."""
        return self._armed or self._config.mode not in MANUAL_MODES

    def _vad_wanted(self) -> bool:
        return self._armed and self._config.mode == "vad"

    def configure(self, new: ClientConfig) -> None:
        """New settings: a mode without VAD ends VAD listening; a new microphone reopens the pump."""
        self._release_held()
        old, self._config = self._config, new
        if new.mode != old.mode:  # listening stays as it is; what it means follows the mode
            self.handle(self._segmenter.set_vad_enabled(self._vad_wanted()))
        if new.vad_energy_gate != old.vad_energy_gate:
            self._gate = NoiseGate() if new.vad_energy_gate else None
        if new.input_device != old.input_device and self._source_override is None and not new.input_wav:
            self._restart_pump()
        self.sync()

    async def stop(self, timeout: float) -> None:
        """Stop reading audio; the open utterance is closed (its audio so far goes to the server)."""
        self._stopping = True
        if self._pump_task is not None and not self._pump_task.done():
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._pump_task), max(0.05, timeout))
        self.handle(self._segmenter.finish("shutdown"))

    # ----- the pump -----
    def _pump_wanted(self) -> bool:
        if self._stopping or self._vad is None:
            return False
        if self.finite:
            return not self.input_ended
        return self._armed or self._segmenter.is_open

    def sync(self) -> None:
        """Start or stop the pump as the mode and listening state want."""
        running = self.listening
        wanted = self._pump_wanted()
        if wanted and not running:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name="audio-pump")
            # The pump's own last report runs while it is still alive, so it would leave the state at
            # "listening" after the input ended or listening was turned off: report again once it is done.
            self._pump_task.add_done_callback(lambda _: self._on_change())
        elif running and not wanted:
            assert self._pump_task is not None
            self._pump_task.cancel()

    def _restart_pump(self) -> None:
        if self._pump_task is not None and not self._pump_task.done():
            self._pump_task.cancel()
            self._pump_task.add_done_callback(lambda _: self.sync())
        self._wake_pump.set()

    def _make_source(self) -> AudioSource:
        if self._source_override is not None:
            return self._source_override
        if self._config.input_wav:
            return WavSource(self._config.input_wav, fast=self._config.fast)
        return MicSource(self._config.input_device, in_utterance=lambda: self._segmenter.is_open,
                         on_lag=lambda level, message: self._hub.notice(level, message, code=NoticeCode.CAPTURE))

    async def _pump(self) -> None:
        """Feed frames from the source until it ends, retrying a failing microphone every few seconds."""
        finite = self.finite
        try:
            while True:
                source = self._make_source()
                try:
                    async for block in blocks_of(source):
                        if self.error:
                            self.error = ""
                            self._hub.notice("info", f"{source.description} is working again")
                            self._on_change()
                        self._process(block)
                except Exception as error:
                    # AudioSourceError is the expected kind (unplugged, busy); anything else is a bug in a driver
                    # or in our code, and must not end the pump quietly while the tray still shows Listening.
                    problem = str(error)
                    if not isinstance(error, AudioSourceError):
                        log.exception("%s failed unexpectedly", source.description)
                        problem = f"{source.description} failed unexpectedly ({type(error).__name__}: {error})"
                    self._release_held()  # the failed stream's last frames, before the next stream's first
                    self.handle(self._segmenter.finish("input_error"))
                    if finite:
                        self._hub.notice("error", problem, code=NoticeCode.CAPTURE)
                        self._on_fail(problem)
                        return
                    # One text for the notice and the error state's detail: the tray shows one notification for
                    # one event (it showed the state's and the notice's, worded apart).
                    problem = f"{problem}; retrying every {MIC_RETRY_S:g} s"
                    if not self.error:
                        self._hub.notice("error", problem, code=NoticeCode.CAPTURE)
                    self.error = problem
                    self._on_change()
                    self._wake_pump.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake_pump.wait(), MIC_RETRY_S)
                    continue
                if finite:
                    self._release_held()
                    self.handle(self._segmenter.finish("end_of_input"))
                    self.input_ended = True
                    log.info("input ended: %s", source.description)
                    self._on_change()
                    return
        finally:
            if not finite or self._stopping:
                self._release_held()
                self.handle(self._segmenter.finish("off"))
            if self.error and not finite:
                self.error = ""
            self._on_change()

    def _process(self, block: list[np.ndarray]) -> None:
        """Hold a noise-floor block back (energy gate), or score it with what was held and feed them in order."""
        gate = self._gate
        if gate is not None:
            quiet = [gate.quiet(level_db(frame)) for frame in block]  # a quieter frame lowers the floor
            if all(quiet) and self._may_hold():
                self._hold(block)
                return
            block, self._held = [*self._held, *block], []
        self._feed(block)

    def _feed(self, frames: list[np.ndarray]) -> None:
        """Score frames, then feed them to the segmenter in order.

        When an utterance ends among them, Silero's state is reset before the next frame (as frame by frame): the
        frames after it are scored again, after the reset. Scored frames are never scored twice: that would move
        Silero's state on."""
        scores = self._scores(frames)
        for index, frame in enumerate(frames):
            was_open = self._segmenter.is_open
            resets = self._resets
            self.handle(self._segmenter.feed(frame, scores[index]))
            score = scores[index]
            if self._gate is not None and score is not None:  # only what Silero heard teaches the floor
                self._gate.learn(level_db(frame), score, self._config.vad_threshold,
                                 was_open or self._segmenter.is_open)
            if was_open != self._segmenter.is_open:
                self._on_change()
            if index + 1 < len(frames) and self._resets != resets:
                scores[index + 1:] = self._scores(frames[index + 1:])

    def _scores(self, frames: list[np.ndarray]) -> list[float | None]:
        if not self._segmenter.needs_vad or self._vad is None:
            return [None] * len(frames)
        return list(self._vad.probabilities(frames))

    # ----- the energy gate (vad_energy_gate): noise-floor frames wait unscored while nobody speaks -----
    def _may_hold(self) -> bool:
        return self._vad is not None and self._segmenter.needs_vad and not self._segmenter.is_open

    def _hold(self, block: list[np.ndarray]) -> None:
        """Keep the newest HOLD_FRAMES unscored and unfed; older ones go to the segmenter unscored (silence)."""
        self._held.extend(block)
        overflow = len(self._held) - HOLD_FRAMES
        if overflow > 0:
            for frame in self._held[:overflow]:
                self.handle(self._segmenter.feed(frame, None))
            del self._held[:overflow]

    def _release_held(self) -> None:
        """Score and feed what is held: before a command or new settings act, and at the end of a file, so
        that the segmenter (its pre-roll included) has every frame that came before."""
        held, self._held = self._held, []
        if held:
            self._feed(held)

    # ----- segmenter events to the link -----
    def handle(self, events: list[SegmentEvent]) -> None:
        for event in events:
            if isinstance(event, UtteranceStarted):
                log.info("utterance %s started (%s) at %.2f s", event.utterance_id, event.reason,
                         event.onset_sample / SAMPLE_RATE)
                self._preroll = event.preroll_samples
                self._onset = event.onset_sample
                self._sink.open(event.utterance_id)
            elif isinstance(event, UtteranceAudio):
                self._sink.append(event.utterance_id, event.pcm)
            elif isinstance(event, UtteranceSilence):
                self._sink.silence(event.utterance_id, event.silence_ms)
            elif isinstance(event, UtteranceEnded):
                self._sink.close(event.utterance_id)
                self._reset_vad()
                self._hub.emit(SpeechSegment(event.utterance_id, self._onset / SAMPLE_RATE,
                                             event.speech_end_sample / SAMPLE_RATE, self._preroll / SAMPLE_RATE,
                                             event.reason, event.end_sample / SAMPLE_RATE))
                log.info("utterance %s ended (%s) at %.2f s", event.utterance_id, event.reason,
                         event.end_sample / SAMPLE_RATE)
        if events:
            self._on_change()

    def _reset_vad(self) -> None:
        """Clear Silero's state before the next frame is scored."""
        if self._vad is not None:
            self._resets += 1
            self._vad.reset()
