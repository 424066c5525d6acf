"""The voice edit's clipboard on Windows: the paste sink's clipboard calls (every format kept and put back,
kept out of clipboard history), and Ctrl+C through SendInput once the user let go of the hotkey."""

from __future__ import annotations

from tray_client.sinks.base import wait_for_release

__all__ = ["Win32Clipboard"]


class Win32Clipboard:
    """`selection.ClipboardPort` on Windows; made and used on one thread (its clipboard window lives there)."""

    def __init__(self) -> None:
        from tray_client.sinks._win32_clipboard import PasteSession
        from tray_client.sinks._win32_clipboard_api import ClipboardApi
        from tray_client.sinks._win32_input import SendInputKeyboard

        self._api = ClipboardApi()
        self._session = PasteSession(self._api)
        self._keyboard = SendInputKeyboard()

    def snapshot(self) -> object:
        return self._session.take_snapshot()

    def restore(self, snapshot: object) -> None:
        from tray_client.sinks._win32_clipboard import ClipboardSnapshot

        self._session.put_back(snapshot if isinstance(snapshot, ClipboardSnapshot) else ClipboardSnapshot([]))

    def get(self) -> str | None:
        return self._session.get_text()

    def set(self, text: str) -> None:
        self._session.set_text(text)

    def press_copy(self) -> None:
        from tray_client.sinks._win32_input import copy_events

        wait_for_release(self._keyboard.held_modifiers)  # Ctrl+Alt+C is not a copy
        self._keyboard.send(copy_events())

    def close(self) -> None:
        self._api.destroy()
