"""The microphone list the tray shows, its refresh while a mic is open, and a mic that delivers only zeros.

PyAudio is faked at its module boundary (no sound hardware on CI): dictation_devtools.fake_pyaudio for streams,
and below a Windows-like PortAudio that lists each mic once per host API, as Windows' PortAudio does."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import types

import numpy as np

from dictation_devtools.fake_pyaudio import FakeDevice
from tray_client.capture import audio_source as audio_source_module
from tray_client.capture.audio_source import WASAPI, MicSource, list_input_devices, pick_host_api

HEADSET = "Headset Microphone (Jabra Evolve2 65 Bluetooth)"
HOST_APIS = [{"index": 0, "name": "MME", "type": 2, "defaultInputDevice": 1},
             {"index": 1, "name": "Windows DirectSound", "type": 1, "defaultInputDevice": 3},
             {"index": 2, "name": "Windows WASAPI", "type": WASAPI, "defaultInputDevice": 5}]
DEVICES = [
    {"name": "Microsoft Sound Mapper - Input", "hostApi": 0, "maxInputChannels": 2},
    {"name": HEADSET[:31], "hostApi": 0, "maxInputChannels": 2},  # MME cuts names at 31 characters
    {"name": "Speakers (Realtek)", "hostApi": 0, "maxInputChannels": 0},
    {"name": HEADSET, "hostApi": 1, "maxInputChannels": 2},
    {"name": "Microphone Array (Realtek)", "hostApi": 1, "maxInputChannels": 2},
    {"name": HEADSET, "hostApi": 2, "maxInputChannels": 1},
    {"name": "Microphone Array (Realtek)", "hostApi": 2, "maxInputChannels": 4},
]


def windows_pyaudio() -> types.ModuleType:
    class PyAudio:
        def get_host_api_count(self) -> int:
            return len(HOST_APIS)

        def get_host_api_info_by_index(self, index: int) -> dict:
            return HOST_APIS[index]

        def get_default_host_api_info(self) -> dict:
            return HOST_APIS[0]  # MME is PortAudio's default on Windows

        def get_device_count(self) -> int:
            return len(DEVICES)

        def get_device_info_by_index(self, index: int) -> dict:
            return {"index": index, **DEVICES[index]}

        def terminate(self) -> None:
            pass

    module = types.ModuleType("pyaudio")
    module.PyAudio = PyAudio  # type: ignore[attr-defined]
    return module


def test_windows_lists_each_microphone_once_by_its_full_wasapi_name(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyaudio", windows_pyaudio())
    monkeypatch.setattr(audio_source_module.sys, "platform", "win32")
    assert list_input_devices() == [HEADSET, "Microphone Array (Realtek)"]
    default = audio_source_module._find_device(sys.modules["pyaudio"].PyAudio(), None)
    assert default["name"] == HEADSET and default["hostApi"] == 2  # WASAPI's default, not MME's


def test_host_api_choice():
    assert pick_host_api(HOST_APIS, 0, windows=True) == 2
    assert pick_host_api(HOST_APIS[:2], 0, windows=True) == 0  # no WASAPI: PortAudio's default
    assert pick_host_api(HOST_APIS, 0, windows=False) == 0


def test_refresh_never_reinitialises_portaudio_under_an_open_stream(fake_mics):
    module = sys.modules["pyaudio"]
    real = module.PyAudio
    created: list[object] = []

    def counting() -> object:
        created.append(object())
        return real()

    module.PyAudio = counting
    before = list_input_devices()
    assert before == ["Built-in Microphone", "USB Headset"] and len(created) == 1

    async def scenario() -> list[str]:
        async with contextlib.aclosing(MicSource("built-in").frames()) as stream:
            async for _ in stream:
                fake_mics.devices.append(FakeDevice("Webcam"))  # plugged in while the mic is open
                return await asyncio.to_thread(list_input_devices)  # the tray's 15 s refresh
        raise AssertionError("no audio")

    during = asyncio.run(scenario())
    assert during == before and len(created) == 2  # only MicSource's own PyAudio(): no Pa_Initialize/Terminate
    assert list_input_devices() == ["Built-in Microphone", "USB Headset", "Webcam"]  # closed: re-read


class ZerosThenSound(FakeDevice):
    """A mic that Windows' privacy settings deny (exact zeros) until `allowed` is set."""

    allowed = False

    def read(self, position: int, count: int, rate: int) -> bytes | None:
        if not self.allowed:
            return np.zeros(count, dtype="<i2").tobytes()
        return super().read(position, count, rate)


def test_a_microphone_of_exact_zeros_is_reported_with_how_to_allow_it(monkeypatch):
    from dictation_devtools.fake_pyaudio import FakeHardware

    monkeypatch.setattr(audio_source_module, "ZERO_AUDIO_S", 0.3)
    mic = ZerosThenSound("Denied Mic")
    monkeypatch.setitem(sys.modules, "pyaudio", FakeHardware(mic).module())
    said: list[tuple[str, str]] = []

    async def scenario() -> None:
        frames = 0
        async with contextlib.aclosing(MicSource("denied", on_lag=lambda *m: said.append(m)).frames()) as stream:
            async for _ in stream:
                frames += 1
                if said and not mic.allowed:
                    mic.allowed = True
                if len(said) == 2:
                    return

    asyncio.run(asyncio.wait_for(scenario(), 20))
    (level, message), (again_level, again) = said
    assert level == "error" and "exact zeros" in message
    assert "Settings > Privacy & security > Microphone" in message
    assert again_level == "info" and "delivers sound again" in again


def test_the_microphone_list_is_known_while_listening_even_when_the_mic_opened_first(fake_mics, monkeypatch):
    """--start-listening opens the mic before the tray's first refresh: the Microphone menu stayed empty."""
    from tray_client.capture import audio_source

    monkeypatch.setattr(audio_source, "_PORTAUDIO", audio_source._PortAudioUse())  # a fresh start: nothing read

    async def scenario() -> list[str]:
        async with contextlib.aclosing(MicSource("built-in").frames()) as stream:
            async for _ in stream:
                return await asyncio.to_thread(list_input_devices)  # the tray's first refresh
        raise AssertionError("no audio")

    assert asyncio.run(scenario()) == ["Built-in Microphone", "USB Headset"]
