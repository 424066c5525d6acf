"""The title of a window (the fallback context where the focused field's text cannot be read): GetWindowTextW on
Windows, _NET_WM_NAME (else WM_NAME) on X11. Never raises: "" when it cannot tell."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def window_title(window: str) -> str:
    """The title of `window` (an HWND on Windows, an X window id on X11, as `focus.Focus.window` holds it)."""
    if not window:
        return ""
    try:
        return _windows_title(int(window)) if sys.platform == "win32" else _x11_title(int(window))
    except Exception as error:
        log.debug("no title for window %s: %s", window, error)
        return ""


def _windows_title(hwnd: int) -> str:
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)
    user32.GetWindowTextLengthW.argtypes = [wintypes.HWND]
    user32.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
    length = user32.GetWindowTextLengthW(hwnd)
    buffer = ctypes.create_unicode_buffer(length + 1)
    user32.GetWindowTextW(hwnd, buffer, length + 1)
    return buffer.value


def _x11_title(window_id: int) -> str:
    from tray_client.desktop.focus import _x11_display

    display = _x11_display()
    window = display.create_resource_object("window", window_id)
    utf8 = display.intern_atom("UTF8_STRING")
    prop = window.get_full_property(display.intern_atom("_NET_WM_NAME"), utf8)
    if prop is not None and prop.value:
        value = prop.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    name = window.get_wm_name()
    return name.decode("latin-1") if isinstance(name, bytes) else (name or "")
