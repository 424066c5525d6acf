"""Which frames are only the microphone's noise floor, so Silero need not score them while nobody speaks.

Opt-in (`vad_energy_gate`, off by default: under Wine it held back a whole utterance whose mic input began
with the speech itself, so no frame rose above the floor it measured on that speech). Silero costs about half a millisecond of CPU per 32 ms frame when it is called
a few times a second (its caches are cold each time): on a noise floor that is most of what listening costs.
Outside an utterance, blocks whose every frame is within MARGIN_DB of the noise floor are held back unscored
(capture/pump.py, HOLD_FRAMES); the first block above the gate has them scored first, in order, so a soft onset
in the quiet frames before it is found where scoring every frame finds it. Every frame inside an utterance is
scored. An earlier version dropped the quiet frames' scores instead of holding them, and cut a soft onset of a
noisy human recording differently (BENCHMARKS.md, issue 22). The floor is tracked, not configured: it drops at once to any quieter frame and rises slowly
(RISE_DB_PER_S), so a louder room (a fan turned on) is followed within seconds and a quiet speaker is measured
against their own mic's noise, not against a fixed level.
"""

from __future__ import annotations

import math

import numpy as np

from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE

MARGIN_DB = 6.0
"""Frames less than this above the floor are noise. A 512-sample frame of steady noise varies by well under 1 dB."""
RISE_DB_PER_S = 1.0
MIN_LEVEL_DB = -90.0  # digital zero counts as this (one LSB is -90 dBFS)
_RISE_PER_FRAME = RISE_DB_PER_S * FRAME_SAMPLES / SAMPLE_RATE


def level_db(frame: np.ndarray) -> float:
    """RMS level of int16 samples in dB relative to full scale, never below MIN_LEVEL_DB."""
    samples = frame.astype(np.float32)
    power = float(np.dot(samples, samples)) / max(1, len(samples)) / (32768.0 * 32768.0)
    return max(MIN_LEVEL_DB, 10.0 * math.log10(power) if power > 0 else MIN_LEVEL_DB)


class NoiseGate:
    """Tracks the noise floor frame by frame and says which frames are no louder than it (pure; one owner)."""

    def __init__(self, margin_db: float = MARGIN_DB) -> None:
        self.margin_db = margin_db
        self.floor_db: float | None = None

    def quiet(self, frame: np.ndarray) -> bool:
        """Whether `frame` is within the margin of the noise floor; call once per frame, in order."""
        level = level_db(frame)
        if self.floor_db is None or level < self.floor_db:
            self.floor_db = level
        else:
            self.floor_db += _RISE_PER_FRAME
        return level < self.floor_db + self.margin_db
