"""Audio sources: resampling and re-blocking, WAV pacing, and a missing microphone named as such."""

from __future__ import annotations

import asyncio
import time
import wave

import numpy as np
import pytest

from tray_client.audio_source import (
    MicrophoneError,
    MicSource,
    Reblocker,
    WavFormatError,
    WavSource,
    list_input_devices,
)
from tray_client.segmenter import FRAME_SAMPLES, SAMPLE_RATE


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 10_000).astype(np.int16)


def dominant_hz(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("rate", [16_000, 44_100, 48_000])
def test_reblocker_resamples_in_odd_chunks_without_gaps(rate):
    source = tone(rate, 2.0)
    reblocker = Reblocker(rate)
    frames = []
    for start in range(0, len(source), 997):  # chunk borders that never line up with frames
        frames += reblocker.push(source[start : start + 997])
    assert all(frame.shape == (FRAME_SAMPLES,) and frame.dtype == np.int16 for frame in frames)
    out = np.concatenate(frames)
    assert abs(len(out) - 2.0 * SAMPLE_RATE) <= FRAME_SAMPLES + 2
    assert dominant_hz(out) == pytest.approx(440, abs=2)
    # Continuity: a clean tone has no jumps bigger than one sample step of the 16 kHz tone.
    max_step = 10_000 * 2 * np.pi * 440 / SAMPLE_RATE * 1.1
    assert np.abs(np.diff(out[FRAME_SAMPLES:].astype(np.int32))).max() <= max_step


def write(path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2):
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


async def collect(source) -> list[np.ndarray]:
    return [frame async for frame in source.frames()]


def test_wav_source_is_paced_like_a_mic_unless_fast(tmp_path):
    path = write(tmp_path / "one.wav", np.repeat(tone(48_000, 1.0), 2), 48_000, channels=2)
    started = time.monotonic()
    frames = asyncio.run(collect(WavSource(path)))
    paced = time.monotonic() - started
    started = time.monotonic()
    fast_frames = asyncio.run(collect(WavSource(path, fast=True)))
    fast = time.monotonic() - started
    assert len(frames) == len(fast_frames) == -(-SAMPLE_RATE // FRAME_SAMPLES)
    assert all(np.array_equal(a, b) for a, b in zip(frames, fast_frames, strict=True))
    assert 0.85 <= paced <= 3.0
    assert fast < 0.5
    assert dominant_hz(np.concatenate(frames)) == pytest.approx(440, abs=2)


def test_wav_source_rejects_8_bit_files_with_a_fix(tmp_path):
    path = write(tmp_path / "bad.wav", np.zeros(800, dtype=np.uint8), 8000, width=1)
    with pytest.raises(WavFormatError, match=r"16-bit PCM.*sox"):
        asyncio.run(collect(WavSource(path)))
    with pytest.raises(WavFormatError, match="cannot read"):
        asyncio.run(collect(WavSource(tmp_path / "missing.wav")))


def test_missing_microphone_is_named_with_what_exists():
    assert isinstance(list_input_devices(), list)
    with pytest.raises(MicrophoneError, match=r"No Such Mic.*input devices now"):
        asyncio.run(collect(MicSource("No Such Mic")))
