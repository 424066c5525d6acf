"""What the Windows lane changes inside the app under test (under Wine only; loaded by wine_site/sitecustomize.py).

Two stand-ins, at the boundaries of parts that cannot run here, and one tap that only watches:
- the VAD: onnxruntime and torch abort under Wine 8, so `SileroVad.load` returns an energy detector (a frame
  is speech when its RMS is above `SPEECH_RMS`). Everything after it (segmenter, link, sinks) is the product's.
- the microphone: CI has no sound card, so `pyaudio` is the tests' fake PortAudio (tests/client/fake_pyaudio.py)
  with one device that plays silence, and plays each `say-*.pcm` file (16 kHz int16) the test drops into the
  control folder, once, in name order.
- the tray tap: every Shell_NotifyIconW call pystray makes still goes to Windows; its tooltip, balloon text,
  result and the pixels of the icon handle it passed are appended to `tray.jsonl`; each popup menu is written
  there too, read back from the real HMENU (GetMenuItemInfoW) just before TrackPopupMenuEx shows it.
"""

from __future__ import annotations

import ctypes
import json
import threading
from ctypes import wintypes
from pathlib import Path
from typing import Any

import numpy as np

SPEECH_RMS = 1000.0
_write_lock = threading.Lock()


def install(control: Path) -> None:
    _install_vad()
    _install_mic(control)
    _install_tray_tap(control / "tray.jsonl")


def record(path: Path, entry: dict[str, Any]) -> None:
    with _write_lock, path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


# --- the VAD ------------------------------------------------------------------------------------------------------

class EnergyVadModel:
    """Speech probability from loudness: what Silero would say for the lane's noise-burst "speech" and silence."""

    def probability(self, audio: np.ndarray) -> float:
        rms = float(np.sqrt(np.mean(np.square(audio.astype(np.float64) * 32768.0))))
        return 0.95 if rms > SPEECH_RMS else 0.02

    def reset_states(self) -> None:
        pass


def _install_vad() -> None:
    from tray_client.capture import vad

    class StandInOnnx(vad.OnnxSilero, EnergyVadModel):
        def __init__(self) -> None:
            pass

        probability = EnergyVadModel.probability
        reset_states = EnergyVadModel.reset_states

    def load(cls: type, kind: str = "onnx") -> Any:
        return cls(StandInOnnx(), kind)

    vad.SileroVad.load = classmethod(load)  # type: ignore[assignment]


# --- the microphone -----------------------------------------------------------------------------------------------

def _install_mic(control: Path) -> None:
    import sys

    from dictation_devtools.fake_pyaudio import FakeDevice, FakeHardware

    class ScriptedMic(FakeDevice):
        """Silence, and each say-*.pcm file in the control folder once: renamed .playing while it plays, then
        .played (so a test knows when the user has finished speaking)."""

        def read(self, position: int, count: int, rate: int) -> bytes | None:
            wanted = count * 2
            pending, playing = getattr(self, "_pending", b""), getattr(self, "_playing", None)
            if not pending and playing is not None:
                playing.rename(playing.with_suffix(".played"))
                playing = None
            if not pending:
                waiting = sorted(control.glob("say-*.pcm"))
                if waiting:
                    playing = waiting[0].rename(waiting[0].with_suffix(".playing"))
                    pending = playing.read_bytes()
            chunk = pending[:wanted].ljust(wanted, b"\0")
            self._pending, self._playing = pending[wanted:], playing
            return chunk

    sys.modules["pyaudio"] = FakeHardware(ScriptedMic("Lane Microphone (Wine)")).module()


# --- the tray tap -------------------------------------------------------------------------------------------------

class ICONINFO(ctypes.Structure):
    _fields_ = [("fIcon", wintypes.BOOL), ("xHotspot", wintypes.DWORD), ("yHotspot", wintypes.DWORD),
                ("hbmMask", wintypes.HBITMAP), ("hbmColor", wintypes.HBITMAP)]


class BITMAPINFOHEADER(ctypes.Structure):
    _fields_ = [("biSize", wintypes.DWORD), ("biWidth", wintypes.LONG), ("biHeight", wintypes.LONG),
                ("biPlanes", wintypes.WORD), ("biBitCount", wintypes.WORD), ("biCompression", wintypes.DWORD),
                ("biSizeImage", wintypes.DWORD), ("biXPelsPerMeter", wintypes.LONG),
                ("biYPelsPerMeter", wintypes.LONG), ("biClrUsed", wintypes.DWORD),
                ("biClrImportant", wintypes.DWORD)]


class BITMAP(ctypes.Structure):
    _fields_ = [("bmType", wintypes.LONG), ("bmWidth", wintypes.LONG), ("bmHeight", wintypes.LONG),
                ("bmWidthBytes", wintypes.LONG), ("bmPlanes", wintypes.WORD), ("bmBitsPixel", wintypes.WORD),
                ("bmBits", wintypes.LPVOID)]


def icon_pixels(handle: int) -> dict[str, Any] | None:
    """The pixels of an HICON as Windows holds it: {"size": [w, h], "rgba": hex}, rows top to bottom."""
    user32, gdi32 = ctypes.windll.user32, ctypes.windll.gdi32  # type: ignore[attr-defined]
    user32.GetIconInfo.argtypes = [wintypes.HANDLE, ctypes.POINTER(ICONINFO)]
    gdi32.GetObjectW.argtypes = [wintypes.HANDLE, ctypes.c_int, wintypes.LPVOID]
    gdi32.GetDIBits.argtypes = [wintypes.HDC, wintypes.HBITMAP, wintypes.UINT, wintypes.UINT, wintypes.LPVOID,
                                ctypes.c_void_p, wintypes.UINT]
    user32.GetDC.restype = wintypes.HDC
    info = ICONINFO()
    if not handle or not user32.GetIconInfo(handle, ctypes.byref(info)) or not info.hbmColor:
        return None
    bitmap = BITMAP()
    gdi32.GetObjectW(info.hbmColor, ctypes.sizeof(BITMAP), ctypes.byref(bitmap))
    width, height = bitmap.bmWidth, bitmap.bmHeight
    header = BITMAPINFOHEADER(biSize=ctypes.sizeof(BITMAPINFOHEADER), biWidth=width, biHeight=-height,
                              biPlanes=1, biBitCount=32, biCompression=0)
    pixels = (ctypes.c_uint8 * (width * height * 4))()
    dc = user32.GetDC(None)
    try:
        gdi32.GetDIBits(dc, info.hbmColor, 0, height, pixels, ctypes.byref(header), 0)
    finally:
        user32.ReleaseDC(None, dc)
        gdi32.DeleteObject(info.hbmColor)
        gdi32.DeleteObject(info.hbmMask)
    rgba = bytearray(bytes(pixels))
    rgba[0::4], rgba[2::4] = rgba[2::4], rgba[0::4]  # BGRA -> RGBA
    return {"size": [width, height], "rgba": bytes(rgba).hex()}


class MENUITEMINFOW(ctypes.Structure):
    _fields_ = [("cbSize", wintypes.UINT), ("fMask", wintypes.UINT), ("fType", wintypes.UINT),
                ("fState", wintypes.UINT), ("wID", wintypes.UINT), ("hSubMenu", wintypes.HMENU),
                ("hbmpChecked", wintypes.HBITMAP), ("hbmpUnchecked", wintypes.HBITMAP),
                ("dwItemData", ctypes.c_size_t), ("dwTypeData", wintypes.LPWSTR), ("cch", wintypes.UINT),
                ("hbmpItem", wintypes.HBITMAP)]


def read_menu(hmenu: int) -> list[dict[str, Any]]:
    """The items of a real HMENU as Windows will draw them: text, check mark, disabled, submenu."""
    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    user32.GetMenuItemInfoW.argtypes = [wintypes.HMENU, wintypes.UINT, wintypes.BOOL, ctypes.POINTER(MENUITEMINFOW)]
    user32.GetMenuItemCount.argtypes = [wintypes.HMENU]
    items = []
    for position in range(user32.GetMenuItemCount(hmenu)):
        buffer = ctypes.create_unicode_buffer(256)
        info = MENUITEMINFOW(cbSize=ctypes.sizeof(MENUITEMINFOW), fMask=0x1 | 0x2 | 0x4 | 0x40 | 0x100,
                             dwTypeData=ctypes.cast(buffer, wintypes.LPWSTR), cch=255)
        user32.GetMenuItemInfoW(hmenu, position, True, ctypes.byref(info))
        if info.fType & 0x800:  # MFT_SEPARATOR
            continue
        items.append({"text": buffer.value, "checked": bool(info.fState & 0x8), "disabled": bool(info.fState & 0x3),
                      "submenu": read_menu(info.hSubMenu) if info.hSubMenu else None})
    return items


def _install_tray_tap(log: Path) -> None:
    from pystray._util import win32

    real_notify = win32.Shell_NotifyIcon
    real_track = win32.TrackPopupMenuEx

    def notify(code: int, data: Any) -> int:
        result = real_notify(code, data)
        entry: dict[str, Any] = {"kind": "notify_icon", "code": int(code), "flags": int(data.uFlags),
                                 "ok": bool(result)}
        if data.uFlags & win32.NIF_TIP:
            entry["tip"] = data.szTip
        if data.uFlags & win32.NIF_INFO:
            entry["info"] = data.szInfo
            entry["info_title"] = data.szInfoTitle
        if data.uFlags & win32.NIF_ICON:
            entry["icon"] = icon_pixels(data.hIcon)
        record(log, entry)
        return result

    def track(hmenu: Any, *args: Any) -> int:
        record(log, {"kind": "menu", "items": read_menu(hmenu)})
        chosen = real_track(hmenu, *args)
        record(log, {"kind": "menu_closed", "chosen": int(chosen)})
        return chosen

    win32.Shell_NotifyIcon = notify
    win32.TrackPopupMenuEx = track
