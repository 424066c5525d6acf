"""A stand-in for the `pyaudio` module: sound devices cannot exist on CI, so they are simulated here.

Only the hardware boundary is fake. It has PyAudio's API shape (the calls MicSource makes), a callback thread per
stream like PortAudio's, devices that refuse rates they do not support (ValueError, as PyAudio raises), and
devices that can be unplugged (the callback stops and closing the stream fails) and plugged back in.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dictation_core.protocol import SAMPLE_RATE

paInt16 = 8  # PyAudio's constants, same values
paContinue = 0


@dataclass
class FakeDevice:
    """One input device: what it is called and which rates it accepts."""

    name: str
    rates: tuple[int, ...] = (SAMPLE_RATE,)
    default_rate: int = SAMPLE_RATE
    tone_hz: float = 440.0
    plugged: bool = True
    opened_at: list[int] = field(default_factory=list)  # rate of every successful open

    def read(self, position: int, count: int, rate: int) -> bytes | None:
        """`count` samples from `position` (None once unplugged: PortAudio's callbacks just stop).

        A tone here; dictation_devtools/reliability/fake_mic.py plays a recording instead."""
        if not self.plugged:
            return None
        t = (position + np.arange(count)) / rate
        return (np.sin(2 * np.pi * self.tone_hz * t) * 8_000).astype("<i2").tobytes()

    def period_s(self, count: int, rate: int) -> float:
        """Seconds between callbacks: real time."""
        return count / rate


class FakeHardware:
    """The machine's devices; tests plug and unplug them while MicSource runs."""

    def __init__(self, *devices: FakeDevice) -> None:
        self.devices = list(devices)
        self.lock = threading.Lock()

    def present(self) -> list[tuple[int, FakeDevice]]:
        with self.lock:
            return [(index, device) for index, device in enumerate(self.devices) if device.plugged]

    def module(self) -> types.ModuleType:
        """A module object to put in sys.modules["pyaudio"]."""
        module = types.ModuleType("pyaudio")
        hardware = self

        class PyAudio(_FakePyAudio):
            def __init__(self) -> None:
                super().__init__(hardware)

        module.PyAudio = PyAudio  # type: ignore[attr-defined]
        module.paInt16 = paInt16  # type: ignore[attr-defined]
        module.paContinue = paContinue  # type: ignore[attr-defined]
        return module


def _info(index: int, device: FakeDevice) -> dict[str, object]:
    return {"index": index, "name": device.name, "maxInputChannels": 1,
            "defaultSampleRate": float(device.default_rate)}


class _FakePyAudio:
    def __init__(self, hardware: FakeHardware) -> None:
        self._hardware = hardware

    def get_device_count(self) -> int:
        return len(self._hardware.devices)  # PortAudio keeps indices; a missing device has no input channels

    def get_device_info_by_index(self, index: int) -> dict[str, object]:
        device = self._hardware.devices[index]
        info = _info(index, device)
        if not device.plugged:
            info["maxInputChannels"] = 0
        return info

    def get_default_input_device_info(self) -> dict[str, object]:
        present = self._hardware.present()
        if not present:
            raise OSError("No Default Input Device Available")
        return _info(*present[0])

    def is_format_supported(self, rate: float, input_device: int, input_channels: int, input_format: int) -> bool:
        device = self._hardware.devices[input_device]
        if not device.plugged or int(rate) not in device.rates:
            raise ValueError(("Invalid sample rate", -9997))
        return True

    def open(self, *, format: int, channels: int, rate: int, input: bool, input_device_index: int,
             frames_per_buffer: int, stream_callback: Callable[..., object]) -> _FakeStream:
        device = self._hardware.devices[input_device_index]
        if not device.plugged:
            raise OSError(("Device unavailable", -9985))
        if rate not in device.rates:
            raise OSError(("Invalid sample rate", -9997))
        device.opened_at.append(rate)
        return _FakeStream(device, rate, frames_per_buffer, stream_callback)

    def terminate(self) -> None:
        pass


class _FakeStream:
    """Calls the callback from its own thread with the device's audio, paced, until stopped or unplugged."""

    def __init__(self, device: FakeDevice, rate: int, frames_per_buffer: int,
                 callback: Callable[..., object]) -> None:
        self._device = device
        self._rate = rate
        self._size = frames_per_buffer
        self._callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-portaudio", daemon=True)
        self._position = 0

    def start_stream(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        period = self._device.period_s(self._size, self._rate)
        while not self._stop.wait(period):
            data = self._device.read(self._position, self._size, self._rate)
            if data is None:
                return
            self._position += self._size
            self._callback(data, len(data) // 2, None, 0)

    def stop_stream(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if not self._device.plugged:
            raise OSError(("Stream is stopped: device unplugged", -9988))

    def close(self) -> None:
        pass
