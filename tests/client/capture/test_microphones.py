"""The microphone list the tray shows, its refresh while a mic is open, and a mic that delivers only zeros.

PyAudio is faked at its module boundary (no sound hardware on CI): dictation_devtools.fake_pyaudio for streams,
and below a Windows-like PortAudio that lists each mic once per host API, as Windows' PortAudio does."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import types

import numpy as np

from dictation_devtools.fake_pyaudio import FakeDevice, FakeHardware
from dictation_devtools.polling import wait_for
from tray_client.capture import devices, mic_source
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
    monkeypatch.setattr(devices.sys, "platform", "win32")
    assert list_input_devices() == [HEADSET, "Microphone Array (Realtek)"]
    default = devices.find_device(sys.modules["pyaudio"].PyAudio(), None)
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

    monkeypatch.setattr(mic_source, "ZERO_AUDIO_S", 0.3)
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

    monkeypatch.setattr(devices, "PORTAUDIO", devices._PortAudioUse())  # a fresh start: nothing read

    async def scenario() -> list[str]:
        async with contextlib.aclosing(MicSource("built-in").frames()) as stream:
            async for _ in stream:
                return await asyncio.to_thread(list_input_devices)  # the tray's first refresh
        raise AssertionError("no audio")

    assert asyncio.run(scenario()) == ["Built-in Microphone", "USB Headset"]


def test_a_missing_microphone_gives_one_notification_that_points_to_the_tray_menu(monkeypatch, tmp_path):
    """It gave two for one event (the capture notice and the error state, worded apart), and the advice named
    --input-device, a command-line flag a tray user never sees."""
    from tests.client.protocol_server import ProtocolServer
    from tests.client.ui.test_tray_controller import StandInPipeline, Win32LikeIcon
    from tray_client.config import ClientConfig
    from tray_client.events import ClientState, StateChanged
    from tray_client.pipeline import Pipeline
    from tray_client.ui.tray.controller import TrayController
    from tray_client.ui.tray.notify import Notifier
    from tray_client.ui.tray.sounds import SoundPlayer

    monkeypatch.setitem(sys.modules, "pyaudio", FakeHardware().module())  # a machine without a microphone
    monkeypatch.setattr("tray_client.ui.tray.controller._safe_autostart_state", lambda: False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    icon = Win32LikeIcon()
    controller = TrayController(ClientConfig(), StandInPipeline(), icon, Notifier(icon), SoundPlayer(enabled=False),
                                list_devices=lambda: [])
    events: list = []
    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url, start_listening=True))
        pipeline.subscribe(events.append)
        pipeline.start()
        assert wait_for(lambda: any(isinstance(e, StateChanged) and e.state is ClientState.ERROR
                                    for e in list(events)), 30)
        pipeline.shutdown()
    for event in list(events):
        controller.handle(event)
    about_the_mic = [message for message, _title in icon.notifications if "microphone" in message]
    assert len(about_the_mic) == 1, about_the_mic
    assert "Microphone in the tray menu" in about_the_mic[0]


def test_portaudio_probing_noise_never_reaches_the_terminal(fake_mics, capfd):
    """On a machine without a sound card, Pa_Initialize's ALSA/JACK probing printed hundreds of lines to fd 2."""
    import os

    module = sys.modules["pyaudio"]
    real = module.PyAudio

    def noisy() -> object:
        os.write(2, b"ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear\n"
                    b"jack server is not running or cannot be started\n")
        return real()

    module.PyAudio = noisy
    assert list_input_devices() == ["Built-in Microphone", "USB Headset"]

    async def one_frame() -> None:
        async with contextlib.aclosing(MicSource("built-in").frames()) as stream:
            async for _ in stream:
                return

    asyncio.run(one_frame())
    os.write(2, b"after\n")  # stderr works again afterwards
    assert capfd.readouterr().err == "after\n"
