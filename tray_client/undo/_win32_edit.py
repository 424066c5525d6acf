"""Windows: read back the focused Edit / RichEdit control, and select a range in it (thin ctypes driver).

Undo uses it to delete exactly what it typed, whatever one Backspace deletes there: it checks that the text just
before the caret is ours, selects exactly that range (EM_SETSEL, in UTF-16 units) and presses Backspace once.
WM_GETTEXT and EM_GETSEL/EM_SETSEL are marshalled between processes by the system for these window classes.
Other controls (browsers, Word, terminals) cannot be read this way: `focused_edit()` returns None for them.
"""

from __future__ import annotations

import ctypes
import logging
from ctypes import wintypes
from dataclasses import dataclass

__all__ = ["EditText", "focused_edit", "select"]

log = logging.getLogger(__name__)

_WM_GETTEXT = 0x000D
_WM_GETTEXTLENGTH = 0x000E
_EM_GETSEL = 0x00B0
_EM_SETSEL = 0x00B1
_SMTO_ABORTIFHUNG = 0x0002
_TIMEOUT_MS = 500
_MAX_UNITS = 0xFFFF  # EM_GETSEL's return value packs 16-bit positions
_CLASSES = ("edit", "richedit20w", "richedit20a", "richedit50w", "richeditd2dpt")


class _GuiThreadInfo(ctypes.Structure):
    _fields_ = [("cbSize", wintypes.DWORD), ("flags", wintypes.DWORD), ("hwndActive", wintypes.HWND),
                ("hwndFocus", wintypes.HWND), ("hwndCapture", wintypes.HWND), ("hwndMenuOwner", wintypes.HWND),
                ("hwndMoveSize", wintypes.HWND), ("hwndCaret", wintypes.HWND), ("rcCaret", wintypes.RECT)]


@dataclass(frozen=True)
class EditText:
    """The focused control's text as UTF-16 units' worth of str, its caret, and how it stores a line break."""

    hwnd: int
    text: str  # as the control holds it (line breaks "\r\n" in Edit, "\r" in RichEdit)
    start: int  # selection, in UTF-16 units
    end: int
    line_break: str


def _user32() -> ctypes.WinDLL:
    return ctypes.windll.user32  # type: ignore[attr-defined,no-any-return]


def _send(hwnd: int, message: int, wparam: int, lparam: object) -> int | None:
    result = ctypes.c_size_t()
    ok = _user32().SendMessageTimeoutW(wintypes.HWND(hwnd), message, wintypes.WPARAM(wparam), lparam,
                                       _SMTO_ABORTIFHUNG, _TIMEOUT_MS, ctypes.byref(result))
    return int(result.value) if ok else None


def focused_edit() -> EditText | None:
    """The control with the keyboard focus in the foreground window, if it is an Edit or RichEdit; else None."""
    user32 = _user32()
    foreground = user32.GetForegroundWindow()
    if not foreground:
        return None
    thread = user32.GetWindowThreadProcessId(wintypes.HWND(foreground), None)
    info = _GuiThreadInfo()
    info.cbSize = ctypes.sizeof(_GuiThreadInfo)
    if not user32.GetGUIThreadInfo(thread, ctypes.byref(info)) or not info.hwndFocus:
        return None
    hwnd = int(info.hwndFocus)
    name = ctypes.create_unicode_buffer(64)
    user32.GetClassNameW(wintypes.HWND(hwnd), name, 64)
    kind = name.value.lower()
    if kind not in _CLASSES:
        log.debug("undo: the focused control is a %r, which cannot be read back", name.value)
        return None
    length = _send(hwnd, _WM_GETTEXTLENGTH, 0, None)
    if length is None or length >= _MAX_UNITS:
        return None
    buffer = ctypes.create_unicode_buffer(length + 1)
    copied = _send(hwnd, _WM_GETTEXT, length + 1, buffer)
    selection = _send(hwnd, _EM_GETSEL, 0, None)
    if copied is None or selection is None:
        return None
    text = ctypes.wstring_at(ctypes.addressof(buffer), copied)
    line_break = "\r\n" if kind == "edit" else "\r"
    if line_break == "\r":
        text = text.replace("\r\n", "\r")  # RichEdit counts a paragraph break as one position
    return EditText(hwnd, text, selection & 0xFFFF, (selection >> 16) & 0xFFFF, line_break)


def select(hwnd: int, start: int, end: int) -> bool:
    """Select [start, end) (UTF-16 units) in the control."""
    return _send(hwnd, _EM_SETSEL, start, end) is not None
