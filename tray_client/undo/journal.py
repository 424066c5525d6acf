"""Pure: what was typed where, and whether deleting it now would delete exactly that.

Each final the sink typed is pushed with the window that had the focus. Undo pops the newest one, but only if
the same window still has the focus and no key was typed by the user since (their keys would sit after our
text, and backspaces would eat theirs first). Anything else gets a refusal that says why, for a notice.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace

__all__ = ["SETTLE_S", "UndoJournal", "UndoPlan", "UndoRefused", "quote"]

MAX_ENTRIES = 20
SETTLE_S = 0.5
"""Key events seen this soon after a final was typed, for characters of that final, are taken for our own
keystrokes arriving late (X11 cannot tell injected keys from the user's)."""


@dataclass(frozen=True)
class _Typed:
    typed: str
    window: str
    at: float
    user_typed_after: bool = False
    restore: str = ""  # the text it replaced (a voice edit): undo types it back


@dataclass(frozen=True)
class UndoPlan:
    """Delete `count` characters (what `typed` was) from the focused window, then type `restore` (the text a
    voice edit replaced; "" for a dictation)."""

    typed: str
    count: int
    restore: str = ""


@dataclass(frozen=True)
class UndoRefused:
    """Undo did nothing; `reason` says why, in words for a notification."""

    reason: str


class UndoJournal:
    """Thread-safe record of typed finals (the tray controller and the keyboard watch both touch it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[_Typed] = deque(maxlen=MAX_ENTRIES)
        self._blind = ""  # why the user's keys cannot be seen (then undo never deletes anything)

    def typed(self, text: str, window: str, at: float, *, restore: str = "") -> None:
        """Our sink typed `text` (exactly, spacing included) into `window` at monotonic time `at`, in place of
        `restore` (a voice edit's selection; "" when it only added text)."""
        if not text:
            return
        with self._lock:
            self._entries.append(_Typed(text, window, at, restore=restore))

    def user_key(self, at: float, char: str | None = None) -> None:
        """A key that types or edits (not a modifier, not a shortcut) went down at monotonic `at`.

        Right after a final, a key whose character is in the final's text (or unknown) is taken for one of
        our own late keystrokes; any other key, or any key later, is the user's."""
        with self._lock:
            if not self._entries:
                return
            last = self._entries[-1]
            ours = at - last.at < SETTLE_S and (char is None or char in last.typed)
            if not ours:
                self._entries[-1] = replace(last, user_typed_after=True)

    def blind(self, why: str) -> None:
        """The user's keys cannot be watched: undo would risk deleting them, so it refuses from now on."""
        with self._lock:
            self._blind = why

    def forget(self) -> None:
        """Nothing typed so far can be undone any more (the output changed, the text was pasted elsewhere)."""
        with self._lock:
            self._entries.clear()

    def plan(self, window: str) -> UndoPlan | UndoRefused:
        """What undo would do now with `window` focused; call `done()` once the deletion happened."""
        with self._lock:
            if not self._entries:
                return UndoRefused("Nothing to undo: no dictation was typed yet (or it was already undone).")
            if self._blind:
                return UndoRefused(f"Undo is off: {self._blind}.")
            last = self._entries[-1]
            quoted = quote(last.typed)
            if last.user_typed_after:
                return UndoRefused(f"Undo did nothing: you typed after {quoted}, so deleting it would delete "
                                   "your keys first. Delete it yourself.")
            if window != last.window:
                return UndoRefused(f"Undo did nothing: {quoted} was typed into another window. Click back "
                                   "into that window and undo again.")
            return UndoPlan(last.typed, len(last.typed), last.restore)

    def done(self, plan: UndoPlan) -> None:
        """The deletion of `plan` happened: the entry before it is next (if nothing else was typed since)."""
        with self._lock:
            if self._entries and self._entries[-1].typed == plan.typed:
                self._entries.pop()


def quote(text: str, limit: int = 40) -> str:
    """The text on one line in quotes, shortened for a notice."""
    flat = " ".join(text.split())
    return f"“{flat if len(flat) <= limit else flat[:limit - 1] + '…'}”"
