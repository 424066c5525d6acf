"""Client test helpers: a sink that records what would be typed, and user directories kept inside tmp."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    """Config, logs and saved audio go under tmp, never into the developer's home."""
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


class RecordingSink:
    """Stands in for the keyboard at the output boundary: records each emit, optionally spaced like a typer."""

    def __init__(self, spaced: bool = True) -> None:
        self.spaced = spaced
        self.emitted: list[str] = []
        self.threads: set[str] = set()
        self.changed = threading.Condition()

    def emit(self, text: str) -> None:
        with self.changed:
            self.emitted.append(text)
            self.threads.add(threading.current_thread().name)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[str]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.emitted) >= count, timeout)
            return list(self.emitted)

    @property
    def text(self) -> str:
        return "".join(self.emitted)


@pytest.fixture
def recording_sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def fake_mics(monkeypatch):
    """Two simulated input devices behind a fake `pyaudio` module (no sound hardware on CI): a built-in mic
    at 16 kHz with a 440 Hz tone, and a USB headset that only does 44.1/48 kHz with a 1 kHz tone."""
    import sys

    from dictation_devtools.fake_pyaudio import FakeDevice, FakeHardware

    hardware = FakeHardware(FakeDevice("Built-in Microphone"),
                            FakeDevice("USB Headset", rates=(44_100, 48_000), default_rate=48_000, tone_hz=1000.0))
    monkeypatch.setitem(sys.modules, "pyaudio", hardware.module())
    return hardware
