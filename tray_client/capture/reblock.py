"""Any rate, any channel count -> 16 kHz mono frames of 512 samples, across chunk borders (pure)."""

from __future__ import annotations

import math

import numpy as np

from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE


class Reblocker:
    """Resamples int16 audio of any rate to 16 kHz and cuts it into 512-sample frames, across chunk borders."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._step = rate / SAMPLE_RATE
        self._smooth = max(1, math.ceil(self._step))  # a box filter against aliasing when downsampling
        self._history = np.zeros(0, dtype=np.float32)  # input samples not consumed yet
        self._position = 0.0  # fractional read position into _history
        self._out = np.zeros(0, dtype=np.int16)

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        """Add mono int16 samples at `rate`; return every complete 16 kHz frame now available."""
        if self.rate == SAMPLE_RATE:
            resampled = samples.astype(np.int16)
        else:
            data = np.concatenate([self._history, samples.astype(np.float32)])
            if self._smooth > 1:
                kernel = np.ones(self._smooth, dtype=np.float32) / self._smooth
                filtered = np.convolve(data, kernel, mode="same")
            else:
                filtered = data
            # Stop short of the end: the filter there still lacks its right-hand samples (next chunk).
            positions = np.arange(self._position, len(data) - 1 - self._smooth, self._step)
            resampled = np.interp(positions, np.arange(len(data)), filtered).round().clip(-32768, 32767)
            resampled = resampled.astype(np.int16)
            next_position = self._position + len(positions) * self._step
            keep_from = max(0, int(next_position) - self._smooth)
            self._history = data[keep_from:]
            self._position = next_position - keep_from
        self._out = np.concatenate([self._out, resampled])
        frames = []
        while len(self._out) >= FRAME_SAMPLES:
            frames.append(self._out[:FRAME_SAMPLES].copy())
            self._out = self._out[FRAME_SAMPLES:]
        return frames

    def flush(self) -> list[np.ndarray]:
        """The last partial frame, padded with silence (end of a file)."""
        if len(self._out) == 0:
            return []
        frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        frame[: len(self._out)] = self._out
        self._out = np.zeros(0, dtype=np.int16)
        return [frame]


def to_mono(raw: bytes, channels: int) -> np.ndarray:
    samples = np.frombuffer(raw, dtype="<i2")
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    return samples.astype(np.int16)

