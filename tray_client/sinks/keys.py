"""The few keys a sink may press besides text, and how each platform names them.

Text reaches a sink through `emit` and is sanitized: it holds no control character. A line break or Enter reaches
it only as one of these keys, and only because a voice command asked for it; Backspace only to undo the last
dictation. Keeping them out of the text is what lets the sanitizer stay absolute.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable


class Key(enum.Enum):
    """A key a sink presses on request of a voice command."""

    NEWLINE = "newline"  # a line break in the text: Shift+Enter, because Enter alone sends in chat apps
    ENTER = "enter"  # the Enter key itself: submit, run
    BACKSPACE = "backspace"  # undo: delete what the last dictation typed, one character per press


@runtime_checkable
class KeySink(Protocol):
    """A sink that can press keys in the focused window (typing and pasting sinks; stdout cannot)."""

    def press(self, key: Key, count: int = 1) -> None:
        """Press `key` `count` times; blocking."""
        ...


PASTE_KEYS = ("ctrl+v", "ctrl+shift+v", "shift+insert")
"""Chords that paste: Ctrl+V, and Ctrl+Shift+V for X11 terminals (where Ctrl+V is a terminal control key)."""

# xdotool key names (X11 keysyms with modifiers).
XDOTOOL_KEYS = {Key.NEWLINE: "shift+Return", Key.ENTER: "Return", Key.BACKSPACE: "BackSpace"}
XDOTOOL_PASTE = {"ctrl+v": "ctrl+v", "ctrl+shift+v": "ctrl+shift+v", "shift+insert": "shift+Insert"}
