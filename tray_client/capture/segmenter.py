"""Cuts the frame stream into utterances: pre-roll, speech start and end, maximum length, manual recording.

Pure and synchronous: it is fed one 512-sample frame at a time with the VAD's speech probability for it (or
None when the VAD is not run, as in push-to-talk) and returns what happened. It knows nothing about sockets,
threads or the model, so every timing rule here is tested on plain arrays.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dictation_core.protocol import SAMPLE_RATE

FRAME_SAMPLES = 512  # Silero VAD's window at 16 kHz: 32 ms
FRAME_MS = FRAME_SAMPLES * 1000 / SAMPLE_RATE
NEGATIVE_MARGIN = 0.15  # hysteresis: speech continues until the probability drops this far below the threshold
# Silero scores frames as speech for about this long after the last voiced sample (bench_latency measured 59 ms
# at p50 on the espeak fixtures, frame rounding included); the end-of-speech silence counter starts that late.
VAD_TAIL_MS = 64.0
SHORT_PAUSE_MS = 160.0  # past the soft length limit, a pause this long ends the utterance
SOFT_LIMIT_FRACTION = 0.8


class FrameSizeError(ValueError):
    """A frame was not 512 int16 samples (16 kHz mono); the audio source must resample and re-block first."""


@dataclass(frozen=True)
class SegmenterSettings:
    """The timing rules, in the units people set them in."""

    threshold: float = 0.5
    min_silence_ms: float = 400.0
    preroll_ms: float = 480.0
    max_utterance_s: float = 30.0
    speculative_silence_ms: float = 150.0  # 0: never tell the server early (see UtteranceSilence)

    @property
    def preroll_frames(self) -> int:
        return math.ceil(self.preroll_ms / FRAME_MS)

    @property
    def silence_frames(self) -> int:
        # Counted from the last frame Silero still scores as speech, which is ~VAD_TAIL_MS after the last
        # voiced sample; without this the user waits min_silence + ~60 ms, not min_silence.
        return max(1, math.ceil((self.min_silence_ms - VAD_TAIL_MS) / FRAME_MS))

    @property
    def speculative_frames(self) -> int:
        """Silent frames after which the server is told (0: never; counted like `silence_frames`)."""
        if self.speculative_silence_ms <= 0:
            return 0
        frames = max(1, math.ceil((self.speculative_silence_ms - VAD_TAIL_MS) / FRAME_MS))
        return frames if frames < self.silence_frames else 0

    @property
    def hard_limit_frames(self) -> int:
        return max(1, int(self.max_utterance_s * 1000 / FRAME_MS))

    @property
    def soft_limit_frames(self) -> int:
        return int(self.hard_limit_frames * SOFT_LIMIT_FRACTION)


@dataclass(frozen=True)
class UtteranceStarted:
    """An utterance opened. `onset_sample` is where speech (or the key press) was detected in the stream;
    `preroll_samples` of audio from before it are sent first."""

    utterance_id: str
    onset_sample: int
    preroll_samples: int
    reason: str  # "vad" | "manual" | "continued" (after a hard cut of a manual recording)


@dataclass(frozen=True)
class UtteranceAudio:
    """PCM int16 little-endian mono 16 kHz for the open utterance, in stream order."""

    utterance_id: str
    pcm: bytes


@dataclass(frozen=True)
class UtteranceEnded:
    """An utterance closed. `speech_end_sample` is the end of its last speech frame; the VAD must be reset."""

    utterance_id: str
    speech_end_sample: int
    end_sample: int
    reason: str  # "silence" | "pause" | "max_length" | "manual" | "off" | "end_of_input"


@dataclass(frozen=True)
class UtteranceSilence:
    """The open utterance has been silent for `silence_ms` (protocol v1's `silence` event): the server may decode
    its final now. The audio after this event is held back. It follows if speech resumes, and a held frame the
    VAD scores as speech-like (in the hysteresis band: a trailing consonant, a breath) goes out too, with a new
    event after it. If the utterance ends in this silence, the held audio is not sent to it (the server's early
    final covers everything it got) but handed on: it becomes the start of the next utterance's pre-roll, so the
    soft onset of a word that follows a short pause still reaches the server, and no sample is sent twice."""

    utterance_id: str
    silence_ms: int


SegmentEvent = UtteranceStarted | UtteranceAudio | UtteranceEnded | UtteranceSilence


@dataclass
class _Open:
    utterance_id: str
    manual: bool
    frames: int
    speech_end_sample: int
    silent_frames: int = 0
    held: list[UtteranceAudio] | None = None  # audio after an UtteranceSilence, until speech resumes or the end


class Segmenter:
    """Turns (frame, probability) pairs into utterance events. One owner: the pipeline thread."""

    def __init__(self, settings: SegmenterSettings, new_id: Callable[[], str]) -> None:
        self.settings = settings
        self._new_id = new_id
        self._ring: collections.deque[bytes] = collections.deque(maxlen=max(settings.preroll_frames, 1))
        self._position = 0  # samples fed so far
        self._open: _Open | None = None
        self.vad_enabled = False

    @property
    def is_open(self) -> bool:
        """True while an utterance is open (audio is being sent)."""
        return self._open is not None

    @property
    def manual(self) -> bool:
        """True while a push-to-talk or toggle recording is open."""
        return self._open is not None and self._open.manual

    @property
    def needs_vad(self) -> bool:
        """Whether the next frame needs a speech probability (skip the model when nothing would use it)."""
        return self.vad_enabled and not self.manual

    def feed(self, frame: np.ndarray, probability: float | None) -> list[SegmentEvent]:
        """Consume one frame; `probability` is the VAD's speech probability or None when it was not run."""
        if frame.dtype != np.int16 or frame.shape != (FRAME_SAMPLES,):
            raise FrameSizeError(f"expected {FRAME_SAMPLES} int16 samples, got {frame.dtype} {frame.shape}")
        start = self._position
        self._position += FRAME_SAMPLES
        pcm = frame.tobytes()
        events: list[SegmentEvent] = []
        current = self._open
        if current is None:
            if self.vad_enabled and probability is not None and probability >= self.settings.threshold:
                events += self._start(manual=False, onset=start, reason="vad")
                current = self._open
                assert current is not None
                current.speech_end_sample = self._position
                events.append(UtteranceAudio(current.utterance_id, pcm))
                current.frames += 1
            elif self.settings.preroll_frames:
                self._ring.append(pcm)
            return events
        audio = UtteranceAudio(current.utterance_id, pcm)
        current.frames += 1
        if not current.manual and probability is not None:
            threshold = self.settings.threshold
            speech_like = probability >= threshold - NEGATIVE_MARGIN
            if probability >= threshold:
                current.speech_end_sample = self._position
                current.silent_frames = 0
                events += self._release(current)  # speech resumed: the held silence goes out first
            elif not speech_like or current.silent_frames:
                current.silent_frames += 1
            if current.held is not None and speech_like:
                # Below the threshold but not silence: it may be the word's last consonant or the next one's
                # breath, so it is sent (with what was held before it) and the server is told again after it.
                events += [*self._release(current), audio, self._silence(current)]
                current.held = []
            elif current.held is not None:
                current.held.append(audio)
            else:
                events.append(audio)
            if current.held is None and current.silent_frames == self.settings.speculative_frames > 0:
                events.append(self._silence(current))
                current.held = []
            if current.silent_frames >= self.settings.silence_frames:
                return events + self._end("silence")
            if (current.frames >= self.settings.soft_limit_frames
                    and current.silent_frames * FRAME_MS >= SHORT_PAUSE_MS):
                return events + self._end("pause")
        else:
            events += self._release(current)
            events.append(audio)
            if current.manual:
                current.speech_end_sample = self._position
        if current.frames >= self.settings.hard_limit_frames:
            manual = current.manual
            events += self._end("max_length")
            if manual:  # keep recording: the user still holds the key
                events += self._start(manual=True, onset=self._position, reason="continued")
        return events

    def start_manual(self) -> list[SegmentEvent]:
        """Push-to-talk down or toggle on: open an utterance now, with the pre-roll, VAD or not.

        If the VAD already opened one, it becomes manual (it stays open until `stop_manual`)."""
        if self._open is not None:
            self._open.manual = True
            self._open.silent_frames = 0
            return self._release(self._open)
        return self._start(manual=True, onset=self._position, reason="manual")

    def stop_manual(self) -> list[SegmentEvent]:
        """Push-to-talk up or toggle off: close the manual utterance."""
        if self._open is None or not self._open.manual:
            return []
        return self._end("manual")

    def set_vad_enabled(self, enabled: bool) -> list[SegmentEvent]:
        """Listen on/off. Turning it off closes an utterance the VAD opened (a manual one stays open)."""
        self.vad_enabled = enabled
        if not enabled and self._open is not None and not self._open.manual:
            return self._end("off")
        return []

    def finish(self, reason: str = "end_of_input") -> list[SegmentEvent]:
        """The input ended (WAV done, mic closed): close whatever is open."""
        if self._open is None:
            return []
        return self._end(reason)

    def _start(self, *, manual: bool, onset: int, reason: str) -> list[SegmentEvent]:
        utterance_id = self._new_id()
        preroll = b"".join(self._ring) if reason != "continued" else b""
        self._ring.clear()
        preroll_frames = len(preroll) // (2 * FRAME_SAMPLES)
        self._open = _Open(utterance_id, manual=manual, frames=preroll_frames, speech_end_sample=onset)
        events: list[SegmentEvent] = [UtteranceStarted(utterance_id, onset, len(preroll) // 2, reason)]
        if preroll:
            events.append(UtteranceAudio(utterance_id, preroll))
        return events

    def _end(self, reason: str) -> list[SegmentEvent]:
        current = self._open
        assert current is not None
        self._open = None
        # Ended in the silence the server was told about: the held audio is not sent (the server's early final
        # covers all it got) but handed on to the pre-roll ring, where the next utterance finds it: it was never
        # sent, so reusing it duplicates nothing, and the ring keeps only its last `preroll_ms`. Any other end
        # (key, max length, off, end of input) sends it first.
        if reason in ("silence", "pause"):
            events: list[SegmentEvent] = []
            if self.settings.preroll_frames:
                self._ring.extend(held.pcm for held in self._release(current))
        else:
            events = list(self._release(current))
        return [*events, UtteranceEnded(current.utterance_id, current.speech_end_sample, self._position, reason)]

    @staticmethod
    def _silence(current: _Open) -> UtteranceSilence:
        return UtteranceSilence(current.utterance_id, round(current.silent_frames * FRAME_MS + VAD_TAIL_MS))

    @staticmethod
    def _release(current: _Open) -> list[UtteranceAudio]:
        held, current.held = current.held or [], None
        return list(held)
