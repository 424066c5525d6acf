"""What every audio source is: its protocol, its errors and the frame and block sizes it delivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
BLOCK_FRAMES = 4
"""Frames handed over at once while nobody speaks (128 ms): the app wakes ~8 times a second instead of ~31. Speech
is seen at most one block later; the pre-roll (480 ms) still holds the audio before the onset, so nothing of it is
lost. Inside an utterance the microphone hands its audio over every CALLBACK_FRAMES, so its end is seen sooner."""
CALLBACK_FRAMES = 2
"""Frames per microphone callback (64 ms). Each callback wakes PortAudio's thread: 32 ms callbacks cost 0.5 % of a
core more on a noise floor (with the bench's sound card stand-in) and broke the 1 % target; 64 ms ones add at most
32 ms (16 ms on average) to seeing an end of speech, against up to 96 ms with whole blocks (BENCHMARKS.md)."""


class AudioSourceError(RuntimeError):
    """Audio input failed."""


class MicrophoneError(AudioSourceError):
    """The microphone is missing, busy or stopped; the message says which device and what to check."""


class WavFormatError(AudioSourceError):
    """The WAV file cannot be read; it must be 16-bit PCM (any rate and channel count)."""


class AudioSource(Protocol):
    """Anything that yields 512-sample int16 16 kHz mono frames; ends when the input ends.

    `finite` sources (files) end the run when they end or fail; others (microphones) are reopened on failure."""

    description: str
    finite: bool

    def frames(self) -> AsyncIterator[np.ndarray]:
        """Iterate the frames; raises AudioSourceError when the input fails."""
        ...

