"""Which microphones there are and which one to open: PortAudio's device list, on the host API we use.

PortAudio must not be (de)initialised while another thread runs a stream: `PORTAUDIO` counts the open streams and
keeps the list read last, which the tray's menu shows while a microphone is open.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from tray_client.capture.quiet_stderr import quiet_stderr
from tray_client.capture.source_types import MicrophoneError

WASAPI = 13
"""PortAudio's paWASAPI host API type. Windows lists every microphone once per host API (MME, DirectSound,
WASAPI, WDM-KS), and MME cuts names at 31 characters; WASAPI has the full names and is the native one."""

CHOOSE_MIC = "plug one in, or choose one under Microphone in the tray menu (--input-device without the tray)"


class _PortAudioUse:
    """How many streams are open in this process, and the device list last read while none was.

    PortAudio reads the device list in Pa_Initialize and its (de)initialisation is not safe while another thread
    runs a stream; so the tray's refresh re-enumerates only while no microphone is open and otherwise shows the
    list read last. Opening the microphone reads it too (from the same initialisation): when the app starts
    listening at once, the mic opened before the tray's first refresh and the Microphone menu stayed empty."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open_streams = 0
        self.devices: list[str] = []


PORTAUDIO = _PortAudioUse()


def pick_host_api(host_apis: list[dict[str, Any]], default_index: int, *, windows: bool) -> int:
    """The host API whose devices we list and open: WASAPI on Windows when present, else PortAudio's default."""
    if windows:
        for info in host_apis:
            if int(info.get("type", -1)) == WASAPI:
                return int(info["index"])
    return default_index


def host_api(audio: Any) -> tuple[int | None, dict[str, Any] | None]:
    """(index, info) of the host API to use, or (None, None) for a PyAudio without host API calls."""
    if not hasattr(audio, "get_host_api_count"):
        return None, None
    apis = []
    for index in range(audio.get_host_api_count()):
        info = dict(audio.get_host_api_info_by_index(index))
        info.setdefault("index", index)
        apis.append(info)
    default = int(audio.get_default_host_api_info()["index"])
    chosen = pick_host_api(apis, default, windows=sys.platform == "win32")
    return chosen, next((info for info in apis if int(info["index"]) == chosen), None)


def _inputs(audio: Any) -> list[dict[str, Any]]:
    """The input devices of the chosen host API: one entry per microphone."""
    api, _ = host_api(audio)
    inputs = [audio.get_device_info_by_index(i) for i in range(audio.get_device_count())]
    return [info for info in inputs if int(info.get("maxInputChannels", 0)) > 0
            and (api is None or int(info.get("hostApi", api)) == api)]


def input_names(audio: Any) -> list[str]:
    return list(dict.fromkeys(str(info["name"]) for info in _inputs(audio)))


def list_input_devices() -> list[str]:
    """Names of the input devices (for the tray's microphone menu), one per device; [] without PyAudio.

    While a microphone is open this is the list read last (see _PortAudioUse)."""
    try:
        import pyaudio
    except ImportError:
        return []
    with PORTAUDIO.lock:
        if PORTAUDIO.open_streams:
            return list(PORTAUDIO.devices)
        with quiet_stderr():  # ALSA/JACK probing noise (see quiet_stderr)
            audio = pyaudio.PyAudio()
        try:
            names = input_names(audio)
        finally:
            audio.terminate()
        PORTAUDIO.devices = names
        return list(names)


def find_device(audio: Any, wanted: str | int | None) -> dict[str, Any]:
    """PortAudio device info for an index, a case-insensitive name substring, or the default input."""
    if wanted is None:
        _, api_info = host_api(audio)
        default = int(api_info.get("defaultInputDevice", -1)) if api_info else -1
        try:
            return audio.get_device_info_by_index(default) if default >= 0 else audio.get_default_input_device_info()
        except OSError as error:
            raise MicrophoneError(f"no default microphone: {CHOOSE_MIC}") from error
    inputs = _inputs(audio)
    if isinstance(wanted, int):
        for info in inputs:
            if int(info["index"]) == wanted:
                return info
    else:
        for info in inputs:
            if str(wanted).lower() in str(info["name"]).lower():
                return info
    names = ", ".join(f"{info['index']}: {info['name']}" for info in inputs) or "none"
    raise MicrophoneError(f"microphone {wanted!r} not found (input devices now: {names}): {CHOOSE_MIC}")

