"""Cut a long recording into windows the model takes, at the quietest moment near each window's end.

Pure: arrays in, sample ranges out. Used by the file transcription endpoint (transcriptions.py): Qwen3-ASR is
accurate on windows up to ~20-30 s, and cutting inside a word would garble the word on both sides, so each cut
goes where the short-time energy is lowest within the last `search_seconds` of the window.
"""

from __future__ import annotations

import numpy as np

_FRAME_SECONDS = 0.02  # energy is measured over 20 ms frames
_SMOOTH_FRAMES = 10  # and smoothed over 200 ms, so a cut lands in a pause, not between two phonemes


def quiet_windows(audio: np.ndarray, sample_rate: int, max_seconds: float,
                  search_seconds: float = 5.0) -> list[tuple[int, int]]:
    """(start, end) sample ranges covering `audio` exactly, each at most `max_seconds` long.

    A window that must be cut ends at the quietest 200 ms stretch of its last `search_seconds` (the middle of that
    stretch); windows of a recording shorter than `max_seconds` are the whole recording.
    """
    total = len(audio)
    limit = max(1, int(max_seconds * sample_rate))
    if total <= limit:
        return [(0, total)] if total else []
    frame = max(1, int(_FRAME_SECONDS * sample_rate))
    energy = _smoothed_energy(audio, frame)
    search = min(limit - frame, max(frame, int(search_seconds * sample_rate)))
    windows = []
    start = 0
    while total - start > limit:
        lo_frame = (start + limit - search) // frame
        hi_frame = (start + limit) // frame  # exclusive: a cut at hi_frame * frame is still inside the limit
        quietest = lo_frame + int(np.argmin(energy[lo_frame:hi_frame]))
        end = min(start + limit, max(start + frame, quietest * frame + frame // 2))
        windows.append((start, end))
        start = end
    windows.append((start, total))
    return windows


def _smoothed_energy(audio: np.ndarray, frame: int) -> np.ndarray:
    frames = len(audio) // frame
    power = np.empty(frames, np.float64)
    block = 1 << 12  # frames per pass: an hour of audio is never copied to float64 whole (+460 MB)
    for first in range(0, frames, block):
        count = min(block, frames - first)
        chunk = audio[first * frame:(first + count) * frame].astype(np.float64)
        power[first:first + count] = np.square(chunk).reshape(count, frame).mean(axis=1)
    kernel = np.ones(_SMOOTH_FRAMES) / _SMOOTH_FRAMES
    smoothed = np.convolve(power, kernel, mode="same")
    # The last partial frame has no energy figure; never cut past the whole frames.
    return np.append(smoothed, np.inf)
