"""Which app has the keyboard focus: its process name on Windows, its WM_CLASS on X11.

The text stage picks the app's profile (`[apps."<name>"]`) with it when an utterance starts, and the history
records it. A lookup never raises: an app it cannot name (an elevated process, no X server, a window without
WM_CLASS) gives no names, and the global settings apply.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

_x11 = threading.local()  # one X connection per thread that asks (Xlib connections are not thread-safe)


def foreground_names() -> tuple[str, ...]:
    """Names of the focused app, most specific first: ("WindowsTerminal.exe",) or (WM_CLASS class, instance)."""
    try:
        if sys.platform == "win32":
            name = _windows_process_name()
            return (name,) if name else ()
        if os.environ.get("DISPLAY"):
            return _x11_wm_class()
    except Exception as error:  # a lookup must never cost a dictation
        log.debug("no foreground app (%s)", error)
        _x11.display = None  # a broken X connection is opened again next time
    return ()


def foreground_app() -> str:
    """The focused app's name (process name or WM_CLASS class), "" when unknown (history, logs)."""
    names = foreground_names()
    return names[0] if names else ""


def _windows_process_name() -> str:
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    user32.GetForegroundWindow.restype = wintypes.HWND
    user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.QueryFullProcessImageNameW.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.LPWSTR,
                                                    ctypes.POINTER(wintypes.DWORD)]
    window = user32.GetForegroundWindow()
    if not window:
        return ""
    pid = wintypes.DWORD()
    user32.GetWindowThreadProcessId(window, ctypes.byref(pid))
    process_query_limited_information = 0x1000  # enough for the image name, also for most elevated processes
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid.value)
    if not handle:
        return ""
    try:
        size = wintypes.DWORD(1024)
        buffer = ctypes.create_unicode_buffer(size.value)
        if not kernel32.QueryFullProcessImageNameW(handle, 0, buffer, ctypes.byref(size)):
            return ""
        return buffer.value.replace("/", "\\").rsplit("\\", 1)[-1]
    finally:
        kernel32.CloseHandle(handle)


def _x11_display() -> Any:  # an Xlib Display (Xlib has no type hints)
    display = getattr(_x11, "display", None)
    if display is None or getattr(_x11, "name", None) != os.environ.get("DISPLAY"):
        from Xlib import display as xdisplay

        display = _x11.display = xdisplay.Display()
        _x11.name = os.environ.get("DISPLAY")
    return display


def _x11_wm_class() -> tuple[str, ...]:
    """WM_CLASS of _NET_ACTIVE_WINDOW; without a window manager that sets it, of the input focus's top window."""
    from Xlib import X, error

    display = _x11_display()
    root = display.screen().root
    window = None
    active = root.get_full_property(display.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
    if active is not None and active.value and active.value[0]:
        window = display.create_resource_object("window", active.value[0])
    else:
        focus = display.get_input_focus().focus
        if isinstance(focus, int):  # PointerRoot or None: nothing focused
            return ()
        window = focus
    try:
        while window is not None and window.id != root.id:  # WM_CLASS is on the top-level window
            wm_class = window.get_wm_class()
            if wm_class:
                instance, klass = wm_class
                return tuple(dict.fromkeys(name for name in (klass, instance) if name))
            window = window.query_tree().parent
    except error.BadWindow:  # the window closed while we looked
        return ()
    return ()
