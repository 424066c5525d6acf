"""Spacing between consecutive finals, by the one joining rule the server also uses (dictation_core.joining)."""

from __future__ import annotations

from dictation_core.joining import separator


class Spacer:
    """Remembers the last text output so each new final gets the right separator (one per output stream)."""

    def __init__(self) -> None:
        self._previous = ""

    def next(self, text: str) -> str:
        """Return `text` with its separator in front, and remember it as the previous output."""
        if not text:
            return ""
        joined = separator(self._previous, text) + text
        self._previous = text
        return joined

    @property
    def previous(self) -> str:
        """The text output last (what the next separator depends on)."""
        return self._previous

    def follow(self, previous: str) -> None:
        """Take `previous` as the last output without outputting it: "\n" after a line-break key, or the state
        from before a final that was undone."""
        self._previous = previous

    def reset(self) -> None:
        """Forget the previous output (the user moved to another window, or the output mode changed)."""
        self._previous = ""
