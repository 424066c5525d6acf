"""Audio sources: resampling and re-blocking, WAV pacing, and a missing microphone named as such."""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave

import numpy as np
import pytest

from tray_client.capture import mic_source as mic_source_module
from tray_client.capture.audio_source import (
    MicrophoneError,
    MicSource,
    Reblocker,
    WavFormatError,
    WavSource,
    list_input_devices,
)
from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE


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


def test_missing_microphone_is_named_with_what_exists(fake_mics):
    headset = fake_mics.devices[1]
    assert list_input_devices() == ["Built-in Microphone", "USB Headset"]
    headset.plugged = False  # PortAudio keeps its index but it has no input channels any more
    assert list_input_devices() == ["Built-in Microphone"]
    with pytest.raises(MicrophoneError) as missing:
        asyncio.run(collect(MicSource("No Such Mic")))
    assert str(missing.value) == ("microphone 'No Such Mic' not found (input devices now: 0: Built-in Microphone): "
                                  "plug one in, or choose one under Microphone in the tray menu (--input-device "
                                  "without the tray)")
    with pytest.raises(MicrophoneError, match="'usb headset' not found"):  # unplugged: not chosen by name
        asyncio.run(collect(MicSource("usb headset")))


async def first_frames(source: MicSource, count: int) -> np.ndarray:
    """`count` frames from a microphone, then close it as the pipeline does."""
    frames = []
    async with contextlib.aclosing(source.frames()) as stream:
        async for frame in stream:
            assert frame.shape == (FRAME_SAMPLES,) and frame.dtype == np.int16
            frames.append(frame)
            if len(frames) == count:
                break
    return np.concatenate(frames[1:])  # the first frame may hold the resampler's start-up


def test_microphone_is_chosen_by_name_or_index_and_resampled_when_16k_is_refused(fake_mics):
    built_in, headset = fake_mics.devices
    default = asyncio.run(first_frames(MicSource(None), 12))
    by_name = asyncio.run(first_frames(MicSource("usb headset"), 12))
    by_index = asyncio.run(first_frames(MicSource(1), 12))
    assert dominant_hz(default) == pytest.approx(440, abs=2)
    assert dominant_hz(by_name) == pytest.approx(1000, abs=2)
    assert dominant_hz(by_index) == pytest.approx(1000, abs=2)
    assert built_in.opened_at == [16_000]
    assert headset.opened_at == [48_000, 48_000]  # it refused 16 kHz: opened at its native rate
    with pytest.raises(MicrophoneError, match=r"'Webcam' not found.*0: Built-in Microphone, 1: USB Headset"):
        asyncio.run(first_frames(MicSource("Webcam"), 1))


def test_unplugged_microphone_raises_instead_of_going_silent(fake_mics, monkeypatch):
    monkeypatch.setattr(mic_source_module, "STALL_TIMEOUT_S", 0.3)
    received = 0

    async def scenario() -> None:
        nonlocal received
        async with contextlib.aclosing(MicSource("built-in").frames()) as stream:
            async for _ in stream:
                received += 1
                if received == 5:
                    fake_mics.devices[0].plugged = False

    with pytest.raises(MicrophoneError, match="stopped delivering audio"):
        asyncio.run(scenario())
    assert received >= 5
    with pytest.raises(MicrophoneError, match="'built-in' not found"):
        asyncio.run(first_frames(MicSource("built-in"), 1))


def test_microphone_stopped_while_opening_is_closed_once_open(fake_mics, monkeypatch):
    """Listening turned off while PortAudio is still opening the device must not leave the device held."""
    import threading

    built_in = fake_mics.devices[0]
    release = threading.Event()
    closed = threading.Event()
    real_open = MicSource._open

    def slow_open(self, loop, queue):
        release.wait(5)  # PortAudio can take seconds to open a Bluetooth headset
        audio, stream, rate = real_open(self, loop, queue)
        real_stop = stream.stop_stream

        def stop_stream() -> None:
            real_stop()
            closed.set()

        stream.stop_stream = stop_stream
        return audio, stream, rate

    monkeypatch.setattr(MicSource, "_open", slow_open)

    async def scenario() -> None:
        task = asyncio.ensure_future(first_frames(MicSource("built-in"), 3))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    release.set()
    assert closed.wait(5), "the stream opened after the cancel must be closed"
    assert built_in.opened_at == [16_000]


def test_the_audio_queue_keeps_everything_inside_an_utterance_and_says_when_it_lags_and_catches_up():
    from tray_client.capture.backlog import LAG_NOTICE_FRAMES, MAX_BACKLOG_FRAMES, Backlog

    backlog = Backlog("microphone 'x'")
    assert backlog.arrived(LAG_NOTICE_FRAMES - 1, in_utterance=False) == (False, None)
    drop, (level, message) = backlog.arrived(LAG_NOTICE_FRAMES, in_utterance=False)
    assert not drop and level == "warning" and "nothing is lost" in message
    assert backlog.arrived(LAG_NOTICE_FRAMES + 1, in_utterance=False) == (False, None)  # told once
    assert backlog.arrived(10 * MAX_BACKLOG_FRAMES, in_utterance=True) == (False, None)  # never inside speech
    drop, (level, message) = backlog.arrived(MAX_BACKLOG_FRAMES, in_utterance=False)
    assert drop and level == "error" and "outside speech is being dropped" in message
    assert backlog.arrived(MAX_BACKLOG_FRAMES, in_utterance=False) == (True, None)
    assert backlog.drained() == ("info", "caught up with microphone 'x'")
    assert backlog.drained() is None
