"""Where audio comes from: the microphone (PyAudio) or a WAV file paced like one. Both yield 512-sample frames.

Every source is an async iterator of np.int16 frames of 512 samples at 16 kHz mono, so the pipeline cannot tell a
file from a mic. The microphone and the file also hand their frames over in blocks of BLOCK_FRAMES (`blocks()`):
the app wakes once per block, not once per frame, which is most of what listening to silence costs. A device
that refuses 16 kHz is opened at its native rate and resampled.

This module is the way in; each job has its own module:
- `source_types`: the `AudioSource` protocol, its errors, FRAME_S and BLOCK_FRAMES;
- `reblock`: resampling and cutting into frames (pure);
- `wav_source`: `WavSource`;
- `devices`: PortAudio's device list, the host API (WASAPI on Windows), the device to open;
- `backlog`: what to do with audio that waits while the pipeline lags (pure);
- `mic_source`: `MicSource`, the stream, its stall and all-zeros watch.
"""

from __future__ import annotations

from tray_client.capture.backlog import Backlog
from tray_client.capture.devices import WASAPI, list_input_devices, pick_host_api
from tray_client.capture.mic_source import MicSource
from tray_client.capture.reblock import Reblocker
from tray_client.capture.source_types import (
    BLOCK_FRAMES,
    FRAME_S,
    AudioSource,
    AudioSourceError,
    MicrophoneError,
    WavFormatError,
)
from tray_client.capture.wav_source import WavSource

__all__ = ["BLOCK_FRAMES", "FRAME_S", "WASAPI", "AudioSource", "AudioSourceError", "Backlog", "MicSource",
           "MicrophoneError", "Reblocker", "WavFormatError", "WavSource", "list_input_devices", "pick_host_api"]
