"""A stand-in `pyaudio` module whose one microphone plays a recording ("tape") and can be unplugged on cue.

Only the hardware boundary is fake (no sound devices exist on CI): MicSource, the VAD, the segmenter, the link and
the server are real. Unlike tests/client/fake_pyaudio.py (a tone), this mic speaks the dictation, so its words
come back from the scripted server and a lost or doubled utterance shows. It unplugs itself when its tape reaches
`unplug_at` (a sample position, so the cut lands at the same audio on any machine), delivers nothing while
unplugged, and on `plug()` goes on from `resume_at`: the words said while it was gone are lost, as in life.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Callable, Iterator

import numpy as np

paInt16 = 8  # PyAudio's constants, same values
paContinue = 0
RATE = 16_000


class TapeMic:
    """The only input device: plays `tape` (int16, 16 kHz) at `speed` times real time, then silence."""

    def __init__(self, tape: np.ndarray, *, name: str = "Tape Mic", speed: float = 1.0) -> None:
        self.name = name
        self.tape = np.asarray(tape, dtype=np.int16)
        self.speed = speed
        self.position = 0  # next sample to play
        self.plugged = True
        self.unplug_at: int | None = None
        self.resume_at: int | None = None
        self.opens = 0
        self.lock = threading.Lock()
        self.unplugged = threading.Event()  # set when the tape reached unplug_at

    def plug(self) -> None:
        """Plug it back in; the tape goes on from `resume_at` (if set)."""
        with self.lock:
            if self.resume_at is not None:
                self.position, self.resume_at = self.resume_at, None
            self.plugged = True

    def read(self, count: int) -> bytes | None:
        """The next `count` samples, or None while unplugged (called by the stream's thread)."""
        with self.lock:
            if not self.plugged:
                return None
            end = self.position + count
            if self.unplug_at is not None and end >= self.unplug_at:
                end, self.plugged, self.unplug_at = self.unplug_at, False, None
                self.unplugged.set()
            chunk = np.zeros(end - self.position, dtype=np.int16)
            played = self.tape[self.position:end]
            chunk[: len(played)] = played
            self.position = end
            return chunk.astype("<i2").tobytes()

    def module(self) -> types.ModuleType:
        """A module object for sys.modules["pyaudio"]."""
        module = types.ModuleType("pyaudio")
        device = self

        class PyAudio(_FakePyAudio):
            def __init__(self) -> None:
                super().__init__(device)

        module.PyAudio = PyAudio  # type: ignore[attr-defined]
        module.paInt16 = paInt16  # type: ignore[attr-defined]
        module.paContinue = paContinue  # type: ignore[attr-defined]
        return module


@contextlib.contextmanager
def installed(mic: TapeMic) -> Iterator[TapeMic]:
    """Make `import pyaudio` return the fake while inside (MicSource imports it when it opens the device)."""
    previous = sys.modules.get("pyaudio")
    sys.modules["pyaudio"] = mic.module()
    try:
        yield mic
    finally:
        if previous is None:
            sys.modules.pop("pyaudio", None)
        else:
            sys.modules["pyaudio"] = previous


class _FakePyAudio:
    def __init__(self, device: TapeMic) -> None:
        self._device = device

    def _info(self) -> dict[str, object]:
        # PortAudio keeps a vanished device's index but reports no input channels for it.
        return {"index": 0, "name": self._device.name, "maxInputChannels": 1 if self._device.plugged else 0,
                "defaultSampleRate": float(RATE)}

    def get_device_count(self) -> int:
        return 1

    def get_device_info_by_index(self, index: int) -> dict[str, object]:
        return self._info()

    def get_default_input_device_info(self) -> dict[str, object]:
        if not self._device.plugged:
            raise OSError("No Default Input Device Available")
        return self._info()

    def is_format_supported(self, rate: float, input_device: int, input_channels: int, input_format: int) -> bool:
        if not self._device.plugged or int(rate) != RATE:
            raise ValueError(("Invalid sample rate", -9997))
        return True

    def open(self, *, format: int, channels: int, rate: int, input: bool, input_device_index: int,
             frames_per_buffer: int, stream_callback: Callable[..., object]) -> _TapeStream:
        if not self._device.plugged:
            raise OSError(("Device unavailable", -9985))
        self._device.opens += 1
        return _TapeStream(self._device, frames_per_buffer, stream_callback)

    def terminate(self) -> None:
        pass


class _TapeStream:
    """Calls the callback from its own thread, paced like PortAudio, until stopped or unplugged."""

    def __init__(self, device: TapeMic, frames_per_buffer: int, callback: Callable[..., object]) -> None:
        self._device = device
        self._size = frames_per_buffer
        self._callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-portaudio", daemon=True)

    def start_stream(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        period = self._size / RATE / self._device.speed
        while not self._stop.wait(period):
            data = self._device.read(self._size)
            if data is None:
                return  # unplugged: PortAudio's callbacks just stop
            self._callback(data, len(data) // 2, None, 0)

    def stop_stream(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if not self._device.plugged:
            raise OSError(("Stream is stopped: device unplugged", -9988))

    def close(self) -> None:
        pass
