"""What every sink shares: the TextSink interface, its errors, and waiting for the user's modifier keys.

Why wait for the modifiers: a final typed while the user still holds Ctrl or Alt (the push-to-talk chord, or a
shortcut of their own) turns dictated letters into shortcuts; under Wine, typing "add" with Ctrl+Alt held fired
the Ctrl+Alt+D toggle twice and typed nothing. So every keystroke sink first waits until no modifier is held.
On X11 this also keeps `xdotool --clearmodifiers` from releasing and re-pressing a held push-to-talk chord,
which ended push-to-talk in the middle of an utterance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["MODIFIER_WAIT_S", "ElevatedTargetError", "ModifiersHeldError", "OutputError", "TextOnClipboard",
           "TextSink", "wait_for_release"]

MODIFIER_WAIT_S = 30.0
"""How long typing waits for the user to let go of Ctrl/Alt/Shift/Win (a push-to-talk chord held through the
next utterance is released within this); then the text goes to the clipboard instead."""
MODIFIER_POLL_S = 0.02


class OutputError(RuntimeError):
    """Text could not be output; the message says which tool is missing or what failed."""


class TextOnClipboard(OutputError):
    """The text was not typed but put on the clipboard; the message tells the user to paste it."""


class ElevatedTargetError(TextOnClipboard):
    """The focused window runs as administrator: Windows drops our keystrokes there (UIPI). The text is on the
    clipboard and the message tells the user to paste it; it was not typed."""


class ModifiersHeldError(TextOnClipboard):
    """The user held modifier keys for longer than MODIFIER_WAIT_S; the text is on the clipboard, not typed."""


class TextSink(Protocol):
    """Where finals go. `spaced`: whether the pipeline puts separators between utterances (not for stdout)."""

    spaced: bool

    def emit(self, text: str) -> None:
        """Output `text` (already sanitized and spaced); blocking."""
        ...


def wait_for_release(
    held: Callable[[], frozenset[str]],
    timeout_s: float | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> frozenset[str]:
    """Poll `held()` (the modifiers the OS reports down) until none is; return those still held at the deadline
    (`timeout_s`, default MODIFIER_WAIT_S)."""
    deadline = clock() + (MODIFIER_WAIT_S if timeout_s is None else timeout_s)
    while True:
        down = held()
        if not down or clock() >= deadline:
            return down
        sleep(MODIFIER_POLL_S)


def held_message(down: frozenset[str]) -> str:
    """The user-facing reason for ModifiersHeldError."""
    keys = "+".join(sorted(down))
    return (f"{keys} stayed held for {MODIFIER_WAIT_S:.0f} s, so the text was not typed (it would have turned "
            "into shortcuts); it is on the clipboard: paste it with Ctrl+V")
