"""Windows sinks: keystrokes through SendInput (KEYEVENTF_UNICODE) and paste through the clipboard.

Both first check the two things that would turn a final into lost or wrong text (see base and _win32_input):
an elevated foreground window (UIPI drops our input silently: the text goes on the clipboard and the user is
told to paste it; it is never counted as typed), and modifier keys the user still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tray_client.sinks._win32_input import (
    SendInputKeyboard,
    foreground_is_elevated,
    key_events,
    paste_events,
    press_events,
)
from tray_client.sinks.base import ElevatedTargetError, ModifiersHeldError, held_message, wait_for_release
from tray_client.sinks.keys import Key

__all__ = ["ELEVATED_MESSAGE", "Win32ClipboardPaster", "Win32Typer", "set_clipboard_text"]

ELEVATED_MESSAGE = ("paste with Ctrl+V: that app runs as administrator (Windows does not let a normal app type "
                    "into it); the text is on the clipboard")


class _Win32Sink:
    """What both Windows sinks share: the keyboard, the UIPI check and the clipboard fallback."""

    spaced = True

    def __init__(self, keyboard: Any = None, *, elevated: Callable[[], bool] = foreground_is_elevated,
                 to_clipboard: Callable[[str], None] | None = None) -> None:
        self._keyboard = keyboard or SendInputKeyboard()
        self._elevated = elevated
        self._to_clipboard = to_clipboard or set_clipboard_text

    def _check_target(self, text: str) -> None:
        """Raise (with the text on the clipboard) when typing now would be lost or turn into shortcuts."""
        if self._elevated():
            self._to_clipboard(text)
            raise ElevatedTargetError(ELEVATED_MESSAGE)
        down = wait_for_release(self._keyboard.held_modifiers)
        if down:
            self._to_clipboard(text)
            raise ModifiersHeldError(held_message(down))

    def press(self, key: Key, count: int = 1) -> None:
        """Press a voice command's key (sinks.keys), after the user let go of the modifiers (Ctrl+Backspace
        would delete words)."""
        wait_for_release(self._keyboard.held_modifiers)
        self._keyboard.send(press_events(key.value, count))


class Win32Typer(_Win32Sink):
    """Keystrokes: every character as KEYEVENTF_UNICODE, exact on any layout and with any IME."""

    def emit(self, text: str) -> None:
        self._check_target(text)
        self._keyboard.send(key_events(text))


class Win32ClipboardPaster(_Win32Sink):
    """Paste with Ctrl+V, keeping the user's whole clipboard (see _win32_clipboard for how and why)."""

    def __init__(self, keyboard: Any = None, *, api_factory: Callable[[], Any] | None = None,
                 paste_keys: str = "ctrl+v", **options: Any) -> None:
        super().__init__(keyboard, **options)
        self._paste_keys = paste_keys
        self._api_factory = api_factory or _clipboard_api
        self._api: Any = None

    def emit(self, text: str) -> None:
        from tray_client.sinks._win32_clipboard import PasteSession

        self._check_target(text)
        if self._api is None:  # created on the output thread, which must pump its window's messages
            self._api = self._api_factory()
        PasteSession(self._api).paste(text, lambda: self._keyboard.send(paste_events(self._paste_keys)))

    def close(self) -> None:
        """Destroy the clipboard window (on the output thread that created it)."""
        if self._api is not None:
            self._api.destroy()
            self._api = None


def _clipboard_api() -> Any:
    from tray_client.sinks._win32_clipboard_api import ClipboardApi

    return ClipboardApi()


def set_clipboard_text(text: str) -> None:
    """Put `text` on the clipboard as plain CF_UNICODETEXT (copy last transcript; the elevated-window fallback).

    Through a window of our own: after OpenClipboard(NULL), EmptyClipboard leaves no owner and SetClipboardData
    then fails (OpenClipboard docs)."""
    from tray_client.sinks._win32_clipboard import CF_UNICODETEXT
    from tray_client.sinks.base import OutputError

    api = _clipboard_api()
    try:
        if not api.open():
            raise OutputError("the clipboard is held by another application; try again")
        try:
            api.empty()
            api.set_bytes(CF_UNICODETEXT, (text + "\0").encode("utf-16-le"))
        finally:
            api.close()
    finally:
        api.destroy()
