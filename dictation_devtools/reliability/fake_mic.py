"""A microphone that plays a recording ("tape") and can be unplugged on cue, on the shared PyAudio fake.

Only the hardware boundary is fake (no sound devices exist on CI): MicSource, the VAD, the segmenter, the link and
the server are real. Unlike the tone devices of dictation_devtools/fake_pyaudio.py, this mic speaks the dictation, so
its words come back from the scripted server and a lost or doubled utterance shows. It unplugs itself when its
tape reaches `unplug_at` (a sample position, so the cut lands at the same audio on any machine), delivers nothing
while unplugged, and on `plug()` goes on from `resume_at`: the words said while it was gone are lost, as in life.
"""

from __future__ import annotations

import contextlib
import threading
import types
from collections.abc import Iterator

import numpy as np

from dictation_core.protocol import SAMPLE_RATE
from dictation_devtools.fake_pyaudio import FakeDevice, FakeHardware
from dictation_devtools.modules import swapped_module

RATE = SAMPLE_RATE


class TapeMic(FakeDevice):
    """The only input device: plays `tape` (int16, 16 kHz) at `speed` times real time, then silence."""

    def __init__(self, tape: np.ndarray, *, name: str = "Tape Mic", speed: float = 1.0) -> None:
        super().__init__(name=name, rates=(RATE,), default_rate=RATE)
        self.tape = np.asarray(tape, dtype=np.int16)
        self.speed = speed
        self.position = 0  # next sample to play; the tape's own, not the stream's (it survives reopening)
        self.unplug_at: int | None = None
        self.resume_at: int | None = None
        self.lock = threading.Lock()
        self.unplugged = threading.Event()  # set when the tape reached unplug_at

    @property
    def opens(self) -> int:
        """How many times the stream was opened."""
        return len(self.opened_at)

    def plug(self) -> None:
        """Plug it back in; the tape goes on from `resume_at` (if set)."""
        with self.lock:
            if self.resume_at is not None:
                self.position, self.resume_at = self.resume_at, None
            self.plugged = True

    def read(self, position: int, count: int, rate: int) -> bytes | None:
        """The tape's next `count` samples, or None while unplugged (called by the stream's thread)."""
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

    def period_s(self, count: int, rate: int) -> float:
        """Faster than real time when `speed` > 1."""
        return count / rate / self.speed

    def module(self) -> types.ModuleType:
        """A module object for sys.modules["pyaudio"], with this mic as the machine's only device."""
        return FakeHardware(self).module()


@contextlib.contextmanager
def installed(mic: TapeMic) -> Iterator[TapeMic]:
    """Make `import pyaudio` return the fake while inside (MicSource imports it when it opens the device)."""
    with swapped_module("pyaudio", mic.module()):
        yield mic
