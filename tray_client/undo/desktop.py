"""The desktop half of undo: which window has the focus, the user's keys, and the backspaces.

Focus: desktop.focus answers which window has it (the same answer the text stage pinned the final to). Keys: a pynput listener of its own (Windows marks
injected keys, so ours are never counted; on X11 see journal.SETTLE_S). Deleting runs on the pipeline's
output thread through `Pipeline.run_output`, after any final still being typed.

Deleting (`erase`): where the text can be read back (a Windows Edit or RichEdit control) the range is checked and
selected, and one Backspace deletes exactly it. Elsewhere one Backspace per character is right only when
every editor agrees on what a character is (units.uncertain); for emoji sequences, flags, combining marks or
characters outside the BMP undo refuses with a notice rather than leave half a character or eat the user's text.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from tray_client.desktop.focus import focused_window
from tray_client.sinks import OutputError
from tray_client.sinks.keys import Key, KeySink
from tray_client.undo.journal import UndoJournal, quote
from tray_client.undo.units import span_before_caret, uncertain

__all__ = ["KeyWatch", "delete_chars", "erase", "focused_window", "wait_keys_released"]

log = logging.getLogger(__name__)

KEY_RELEASE_WAIT_S = 2.0
_CHORD_MODIFIERS = {"ctrl", "ctrl_l", "ctrl_r", "alt", "alt_l", "alt_r", "alt_gr", "cmd", "cmd_l", "cmd_r"}
_MODIFIERS = _CHORD_MODIFIERS | {"shift", "shift_l", "shift_r", "caps_lock", "num_lock"}


def delete_chars(sink: Any, count: int) -> None:
    """Press Backspace `count` times in the focused window (on the output thread, which owns the keyboard)."""
    if not isinstance(sink, KeySink):
        raise OutputError("this output cannot press Backspace (stdout): what was written cannot be deleted")
    if count <= 0:
        return
    if sys.platform != "win32":
        wait_keys_released(KEY_RELEASE_WAIT_S)
    sink.press(Key.BACKSPACE, count)  # the sink waits for the modifiers too (no Ctrl+Backspace)


def erase(sink: Any, typed: str) -> str:
    """Delete `typed`, which must sit just before the caret of the focused window; "" when it was deleted,
    else why nothing was (for a notice). On the output thread."""
    if not isinstance(sink, KeySink):
        raise OutputError("this output cannot press Backspace (stdout): what was written cannot be deleted")
    if not typed:
        return ""
    if sys.platform == "win32":
        from tray_client.undo import _win32_edit

        edit = _win32_edit.focused_edit()
        if edit is not None:
            span = span_before_caret(edit.text, edit.start, edit.end, typed, edit.line_break)
            if span is None:
                return (f"Undo did nothing: the text before the cursor is no longer {quote(typed)}, so deleting "
                        "could remove your own text. Delete it yourself.")
            _win32_edit.select(edit.hwnd, *span)
            sink.press(Key.BACKSPACE, 1)  # deletes the selection: exactly our text, whatever the editor's unit
            return ""
    if uncertain(typed):
        return (f"Undo did nothing: {quote(typed)} holds emoji or combined characters, which apps delete "
                "differently, and this window's text cannot be read back to check; deleting could leave half a "
                "character or remove your own text. Delete it yourself.")
    delete_chars(sink, len(typed))
    return ""


def wait_keys_released(timeout: float) -> None:
    """Wait until the user let go of every key (the undo hotkey's). While its key is down X's passive grab
    sends every key event, our Backspaces too, to the grabbing client; and a Backspace with Alt still down is
    Alt+Backspace, which apps ignore or read as "delete a word". xdotool's --clearmodifiers alone races with
    a release that happens while it runs."""
    try:
        from Xlib import display

        connection = display.Display()
    except Exception:
        return
    deadline = time.monotonic() + timeout
    try:
        while any(connection.query_keymap()) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        connection.close()


class KeyWatch:
    """Tells the journal when the user types (any key but modifiers and shortcuts), from pynput's thread."""

    def __init__(self, journal: UndoJournal) -> None:
        self._journal = journal
        self._held: set[str] = set()
        self._listener: Any = None

    def start(self) -> None:
        from pynput import keyboard  # lazy: it needs a display at import time

        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        self._listener.name = "undo-keys"
        self._listener.daemon = True
        self._listener.start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            if sys.platform.startswith("linux"):
                # The same unblocking the hotkey listener needs (pynput's X11 listener waits for a key event).
                from tray_client.hotkeys._x11 import unblock_listener

                unblock_listener(self._listener)
            self._listener.join(timeout=1.0)
            self._listener = None

    def _on_press(self, key: Any, injected: bool = False) -> None:
        name = str(getattr(key, "name", "") or "")
        if name in _MODIFIERS:
            self._held.add(name)
            return
        if injected or self._held & _CHORD_MODIFIERS:  # our own keys (Windows), or a shortcut such as a hotkey
            return
        char = getattr(key, "char", None)
        self._journal.user_key(time.monotonic(), char if isinstance(char, str) and char else None)

    def _on_release(self, key: Any, injected: bool = False) -> None:
        self._held.discard(str(getattr(key, "name", "") or ""))
