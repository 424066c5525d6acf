"""Which frames are only the microphone's noise floor, so Silero need not score them while nobody speaks.

`vad_energy_gate` (on by default). Silero costs about half a millisecond of CPU per 32 ms frame when it is called
a few times a second (its caches are cold each time): on a noise floor that is most of what listening costs.
Outside an utterance, blocks whose every frame is within MARGIN_DB of the noise floor are held back unscored
(capture/pump.py, HOLD_FRAMES); the first block above the gate has them scored first, in order, so a soft onset
in the quiet frames before it is found where scoring every frame finds it. Every frame inside an utterance is
scored.

The floor is learned only from audio known not to be speech: frames Silero scored well below its threshold,
outside an utterance. Until LEARN_FRAMES such frames came in a row there is no floor and every frame is scored, so
a microphone whose input begins with the speech itself is scored like any other (a first version measured its
floor on the first frames it heard: under Wine that was a steady phrase, nothing rose above it, and the whole
utterance was held back unscored). The floor is the quietest of the last LEARN_FRAMES non-speech frames, so a
louder room (a fan switched on: its frames rise above the gate, are scored, found not to be speech) is followed
within half a second of its noise; and it drops at once to any quieter frame, scored or not (quieter than known
noise is not speech), so a quieter room never leaves the gate above a soft voice.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

MARGIN_DB = 6.0
"""Frames less than this above the floor are noise. A 512-sample frame of steady noise varies by well under 1 dB."""
LEARN_FRAMES = 16
"""Non-speech frames in a row (0.5 s) that set the floor: more than the few frames at a speech onset that Silero
scores low before it recognises the voice, so an onset alone never sets a floor."""
NON_SPEECH_BELOW = 0.15
"""A frame is non-speech when Silero scores it this far below the opening threshold (where an utterance closes)."""
MIN_LEVEL_DB = -90.0  # digital zero counts as this (one LSB is -90 dBFS)


def level_db(frame: np.ndarray) -> float:
    """RMS level of int16 samples in dB relative to full scale, never below MIN_LEVEL_DB."""
    samples = frame.astype(np.float32)
    power = float(np.dot(samples, samples)) / max(1, len(samples)) / (32768.0 * 32768.0)
    return max(MIN_LEVEL_DB, 10.0 * math.log10(power) if power > 0 else MIN_LEVEL_DB)


class NoiseGate:
    """The noise floor, learned from frames known not to be speech, and which frames are no louder than it (pure;
    one owner)."""

    def __init__(self, margin_db: float = MARGIN_DB, learn_frames: int = LEARN_FRAMES) -> None:
        self.margin_db = margin_db
        self.floor_db: float | None = None  # None until LEARN_FRAMES non-speech frames in a row were scored
        self._recent: deque[float] = deque(maxlen=learn_frames)  # levels of the current run of non-speech frames

    def quiet(self, level: float) -> bool:
        """Whether a frame at `level` dBFS is within the margin of the floor (never, while there is no floor)."""
        if self.floor_db is None:
            return False
        self.floor_db = min(self.floor_db, level)
        return level < self.floor_db + self.margin_db

    def learn(self, level: float, probability: float, threshold: float, in_utterance: bool) -> None:
        """What Silero made of a frame at `level` dBFS: only a frame well below `threshold` outside an utterance is
        noise; anything else ends the run of noise frames (its onset frames may have scored low)."""
        if in_utterance or probability >= threshold - NON_SPEECH_BELOW:
            self._recent.clear()
            return
        self._recent.append(level)
        if len(self._recent) == self._recent.maxlen:
            self.floor_db = min(self._recent)
        elif self.floor_db is not None:
            self.floor_db = min(self.floor_db, level)
