"""Put text into the focused window, per platform: keystrokes, clipboard paste, or stdout. All blocking.

Each sink is called on the pipeline's output thread only (one owner), one final at a time.
Why xdotool on X11: pynput's X11 typer remaps keys for characters outside the keymap and corrupts them under
load; `xdotool type` handles any Unicode (CJK included) correctly. On Windows pynput sends KEYEVENTF_UNICODE
events, which are right for every character.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from typing import Protocol, TextIO

from tray_client.sinks.x11_keymap import SpareKeycodes

log = logging.getLogger(__name__)

SUBPROCESS_TIMEOUT_S = 30.0
PASTE_SETTLE_S = 0.3  # the target app reads the clipboard asynchronously after ctrl+v; restore only after


class OutputError(RuntimeError):
    """Text could not be output; the message says which tool is missing or what failed."""


class TextSink(Protocol):
    """Where finals go. `spaced`: whether the pipeline puts separators between utterances (not for stdout)."""

    spaced: bool

    def emit(self, text: str) -> None:
        """Output `text` (already sanitized and spaced); blocking."""
        ...


class StdoutSink:
    """One final per line on stdout: the headless contract that scripts and tests read."""

    spaced = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def emit(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, check=True, timeout=SUBPROCESS_TIMEOUT_S, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as error:
        raise OutputError(f"{command[0]} is not installed: apt-get install {command[0]}, "
                          "or choose another output") from error
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise OutputError(f"{command[0]} failed: {error}") from error


class XdotoolTyper:
    """X11 keystrokes through `xdotool type`, exact for any Unicode character, CJK included, under load too.

    Characters missing from the keymap are bound to spare keycodes first (see x11_keymap for why xdotool's own
    per-character remapping loses characters), so xdotool only ever presses keys that stay bound.
    """

    spaced = True

    def __init__(self, delay_ms: int = 12, display_name: str | None = None) -> None:
        if shutil.which("xdotool") is None:
            raise OutputError("xdotool is not installed: apt-get install xdotool, or use --output clipboard")
        self.delay_ms = delay_ms
        self._display_name = display_name
        self._keymap: SpareKeycodes | None = None
        self._keymap_tried = False

    def _spare_keycodes(self) -> SpareKeycodes | None:
        # Opened on first use, on the output thread that owns it (the sink is created on the pipeline thread).
        if not self._keymap_tried:
            self._keymap_tried = True
            self._keymap = SpareKeycodes.open(self._display_name)
        return self._keymap

    def emit(self, text: str) -> None:
        keymap = self._spare_keycodes()
        if keymap is None:
            self._type(text)
            return
        for piece in keymap.pieces(text):
            unbound = keymap.bind(piece)
            if unbound:
                log.warning("no spare keycode for %d character(s); xdotool remaps them itself", len(unbound))
            self._type(piece)
            keymap.typed(piece)

    def _type(self, text: str) -> None:
        _run(["xdotool", "type", "--clearmodifiers", "--delay", str(self.delay_ms), "--", text],
             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def close(self) -> None:
        """Empty the keycodes bound for typing (after the last keys settled); call on the output thread."""
        if self._keymap is not None:
            self._keymap.close()
            self._keymap = None


class PynputTyper:
    """Windows (and macOS) keystrokes through pynput, which sends Unicode key events."""

    spaced = True

    def __init__(self) -> None:
        from pynput.keyboard import Controller

        self._keyboard = Controller()

    def emit(self, text: str) -> None:
        self._keyboard.type(text)


class X11ClipboardPaster:
    """Paste with ctrl+v through the X11 CLIPBOARD, then put back the text it held before."""

    spaced = True

    def __init__(self) -> None:
        missing = [tool for tool in ("xclip", "xdotool") if shutil.which(tool) is None]
        if missing:
            raise OutputError(f"{' and '.join(missing)} not installed: apt-get install {' '.join(missing)}")

    @staticmethod
    def _get() -> str | None:
        result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                                timeout=SUBPROCESS_TIMEOUT_S)
        return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None

    @staticmethod
    def _set(text: str) -> None:
        # xclip forks a child that serves the selection; do not wait on its pipes.
        _run(["xclip", "-selection", "clipboard", "-i"], input=text.encode("utf-8"),
             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def emit(self, text: str) -> None:
        saved = self._get()
        self._set(text)
        _run(["xdotool", "key", "--clearmodifiers", "ctrl+v"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(PASTE_SETTLE_S)
        if saved is not None:
            self._set(saved)


class WindowsClipboardPaster:
    """Paste with ctrl+v through the Windows clipboard (CF_UNICODETEXT via ctypes), then restore it."""

    spaced = True
    _CF_UNICODETEXT = 13
    _GMEM_MOVEABLE = 0x0002

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        from pynput.keyboard import Controller

        self._keyboard = Controller()
        self._user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
        self._kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        self._user32.GetClipboardData.restype = wintypes.HANDLE
        self._user32.SetClipboardData.argtypes = [wintypes.UINT, wintypes.HANDLE]
        self._kernel32.GlobalAlloc.restype = wintypes.HGLOBAL
        self._kernel32.GlobalLock.argtypes = [wintypes.HGLOBAL]
        self._kernel32.GlobalLock.restype = wintypes.LPVOID
        self._kernel32.GlobalUnlock.argtypes = [wintypes.HGLOBAL]
        self._ctypes = ctypes

    def _open(self) -> None:
        for _ in range(20):  # another app may hold the clipboard for a moment
            if self._user32.OpenClipboard(None):
                return
            time.sleep(0.02)
        raise OutputError("the clipboard is held by another application; try again or use --output type")

    def _get(self) -> str | None:
        self._open()
        try:
            handle = self._user32.GetClipboardData(self._CF_UNICODETEXT)
            if not handle:
                return None
            pointer = self._kernel32.GlobalLock(handle)
            try:
                return self._ctypes.wstring_at(pointer)
            finally:
                self._kernel32.GlobalUnlock(handle)
        finally:
            self._user32.CloseClipboard()

    def _set(self, text: str) -> None:
        data = (text + "\0").encode("utf-16-le")
        self._open()
        try:
            self._user32.EmptyClipboard()
            handle = self._kernel32.GlobalAlloc(self._GMEM_MOVEABLE, len(data))
            pointer = self._kernel32.GlobalLock(handle)
            self._ctypes.memmove(pointer, data, len(data))
            self._kernel32.GlobalUnlock(handle)
            self._user32.SetClipboardData(self._CF_UNICODETEXT, handle)
        finally:
            self._user32.CloseClipboard()

    def emit(self, text: str) -> None:
        from pynput.keyboard import Key

        saved = self._get()
        self._set(text)
        with self._keyboard.pressed(Key.ctrl):
            self._keyboard.press("v")
            self._keyboard.release("v")
        time.sleep(PASTE_SETTLE_S)
        if saved is not None:
            with contextlib.suppress(OutputError):
                self._set(saved)


def make_sink(output: str, *, type_delay_ms: int = 12) -> TextSink:
    """The sink for an output mode on this platform; raises OutputError when its tools are missing."""
    if output == "stdout":
        return StdoutSink()
    windows = sys.platform == "win32"
    x11 = not windows and bool(os.environ.get("DISPLAY"))
    if output == "type":
        if windows:
            return PynputTyper()
        if x11:
            return XdotoolTyper(type_delay_ms)
        if sys.platform == "darwin":
            return PynputTyper()
        raise OutputError("--output type needs Windows or an X11 display (DISPLAY is not set); use --output stdout")
    if output == "clipboard":
        if windows:
            return WindowsClipboardPaster()
        if x11:
            return X11ClipboardPaster()
        raise OutputError("--output clipboard needs Windows or an X11 display; use --output stdout")
    raise OutputError(f"unknown output {output!r}: use type, clipboard or stdout")


def set_clipboard(text: str) -> None:
    """Put `text` on the system clipboard without pasting it (the tray's "copy last transcript")."""
    if sys.platform == "win32":
        WindowsClipboardPaster()._set(text)
    elif os.environ.get("DISPLAY"):
        X11ClipboardPaster()._set(text)
    else:
        raise OutputError("no clipboard: needs Windows or an X11 display")
