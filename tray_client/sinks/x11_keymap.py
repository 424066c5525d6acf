"""Bind the characters the X keyboard map lacks to spare keycodes, and keep them bound while they are typed.

Why this exists: `xdotool type` types a character outside the keymap (any CJK character) by binding it to one
scratch keycode, pressing the key and unbinding it at once; the next such character reuses the same keycode.
The target application translates a key event into a character only when it gets round to processing it, and
X clients re-read the keymap lazily after a MappingNotify, so a target that is a few milliseconds late (CPU
load) reads the binding of the *next* character, or none: characters are swapped or dropped. A larger
`--delay` only narrows the window. Here, before xdotool runs, every character of the text that the keymap lacks
gets its own spare keycode, so xdotool finds all of them in the keymap and never remaps; and a binding is only
changed again `SETTLE_S` after its key was last typed, so whenever the target reads it, the answer is right.

Owned by one thread (the pipeline's output worker): a python-xlib display connection is not thread-safe.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SETTLE_S = 0.5  # a target processes a typed key well within this; only then may its keycode be rebound
RESERVED_SPARE = 2  # spare keycodes left alone for xdotool's own scratch binding (characters we could not bind)
_UNICODE_KEYSYM = 0x01000000  # X11 keysym for any Unicode code point: 0x01000000 + code point


def keysym_for(char: str) -> int:
    """The keysym that types `char`: Latin-1 keysyms equal the code point, every other one is 0x01000000 + it."""
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return _UNICODE_KEYSYM + code


def char_for(keysym: int) -> str | None:
    """The character a Latin-1 or Unicode keysym types; None for function keys and legacy keysyms."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if _UNICODE_KEYSYM + 0x100 <= keysym <= _UNICODE_KEYSYM + 0x10FFFF:
        return chr(keysym - _UNICODE_KEYSYM)
    return None


class SpareKeycodes:
    """Characters bound to otherwise empty keycodes, least recently typed first (the ones rebound first)."""

    def __init__(self, display: Any, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._display = display
        self._clock = clock
        self._sleep = sleep
        self._low = int(display.display.info.min_keycode)
        self._high = int(display.display.info.max_keycode)
        self._bound: collections.OrderedDict[str, int] = collections.OrderedDict()  # char -> keycode, LRU first
        self._last_typed: dict[str, float] = {}

    @classmethod
    def open(cls, display_name: str | None = None) -> SpareKeycodes | None:
        """Connect to the X display; None (with a warning) when python-xlib or the display is not there."""
        try:
            from Xlib import display
            from Xlib.error import DisplayError

            return cls(display.Display(display_name))
        except (ImportError, DisplayError, OSError) as error:
            log.warning("cannot pre-bind characters on the X display (%s); xdotool will remap keys itself, "
                        "which can lose characters under load", error)
            return None

    # ----- what the typer calls -----
    def pieces(self, text: str) -> list[str]:
        """Split `text` so that each piece needs no more bindings than there are spare keycodes."""
        rows = self._rows()
        present = self._present(rows)
        capacity = len(self._free(rows)) + len(self._bound)
        if capacity == 0:
            return [text]
        pieces: list[str] = []
        start = 0
        needed: set[str] = set()
        for index, char in enumerate(text):
            if char in present or char in needed:
                continue
            if len(needed) == capacity:
                pieces.append(text[start:index])
                start, needed = index, set()
            needed.add(char)
        pieces.append(text[start:])
        return pieces

    def bind(self, text: str) -> list[str]:
        """Make every character of `text` typeable without remapping; return the ones that could not be bound."""
        rows = self._rows()
        self._forget_overwritten(rows)
        present = self._present(rows)
        wanted = [c for c in dict.fromkeys(text) if c not in present]
        missing = [c for c in wanted if c not in self._bound]
        for char in wanted:
            if char in self._bound:
                self._bound.move_to_end(char)
        free = self._free(rows)
        while len(free) < len(missing):
            keycode = self._evict(keep=set(wanted))
            if keycode is None:
                break
            free.append(keycode)
        unbound = missing[len(free):]
        for char, keycode in zip(missing, free, strict=False):
            self._display.change_keyboard_mapping(keycode, [[keysym_for(char)]])
            self._bound[char] = keycode
        if missing:
            self._display.sync()  # the server has the bindings before xdotool (another connection) reads them
        return unbound

    def typed(self, text: str) -> None:
        """Record that the characters of `text` were just typed: their bindings must settle before any change."""
        now = self._clock()
        for char in set(text):
            if char in self._bound:
                self._last_typed[char] = now

    def close(self) -> None:
        """Give the keycodes back (empty them), once the last typed key has settled, and disconnect."""
        if self._last_typed:
            self._sleep(max(0.0, max(self._last_typed.values()) + SETTLE_S - self._clock()))
        for keycode in self._bound.values():
            self._display.change_keyboard_mapping(keycode, [[0]])
        self._bound.clear()
        self._last_typed.clear()
        self._display.sync()  # close() alone does not flush the queued requests
        self._display.close()

    # ----- internals -----
    def _rows(self) -> list[list[int]]:
        """The server's keymap now (re-read every time: a layout switch or another client may have changed it)."""
        return [list(row) for row in self._display.get_keyboard_mapping(self._low, self._high - self._low + 1)]

    def _row(self, rows: list[list[int]], keycode: int) -> list[int]:
        return rows[keycode - self._low]

    def _forget_overwritten(self, rows: list[list[int]]) -> None:
        for char, keycode in list(self._bound.items()):
            # XKB may add the other case of a letter to the key, so look for ours anywhere in the row.
            if keysym_for(char) not in self._row(rows, keycode):
                del self._bound[char]
                self._last_typed.pop(char, None)

    def _present(self, rows: list[list[int]]) -> set[str]:
        """Characters the keymap types without our bindings, plain or with Shift (what xdotool uses cleanly)."""
        ours = set(self._bound.values())
        present: set[str] = set()
        for offset, row in enumerate(rows):
            if offset + self._low in ours:
                continue
            for keysym in row[:2]:
                char = char_for(keysym) if keysym else None
                if char is not None:
                    present.add(char)
        return present

    def _free(self, rows: list[list[int]]) -> list[int]:
        """Empty keycodes, highest first, leaving the lowest ones for xdotool's scratch binding."""
        ours = set(self._bound.values())
        empty = [self._low + offset for offset, row in enumerate(rows)
                 if not any(row) and self._low + offset not in ours]
        return sorted(empty[RESERVED_SPARE:], reverse=True)

    def _evict(self, keep: set[str]) -> int | None:
        """Free the least recently typed binding not needed now, after its last key has settled."""
        for char, keycode in self._bound.items():
            if char in keep:
                continue
            wait = self._last_typed.get(char, -SETTLE_S) + SETTLE_S - self._clock()
            if wait > 0:
                self._sleep(wait)
            del self._bound[char]
            self._last_typed.pop(char, None)
            return keycode
        return None
