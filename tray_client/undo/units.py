"""Pure: how a text is deleted with Backspace, and when that cannot be known.

Editors disagree about what one Backspace deletes: a UTF-16 unit (Windows' Edit control under Wine: undoing
"👍🏽" a code point at a time left half a surrogate pair, `\\ud83d`), a code point (WordPad left "👨" of a family),
or a whole grapheme cluster (then a count of code points deletes the user's own text before ours). For text
whose UTF-16 units, code points and clusters all coincide, one count fits every editor; for anything else (emoji
with a skin tone or a ZWJ, flags, combining marks, characters outside the BMP) undo must know the target's unit
or read the text back, and refuses otherwise.

Clusters come from the `regex` module's \\X (Unicode extended grapheme clusters, kept current with each Unicode
release; the `grapheme` package stopped at Unicode 13 in 2020), not from rules of our own.
"""

from __future__ import annotations

import regex

__all__ = ["UNITS", "backspaces", "clusters", "span_before_caret", "uncertain", "utf16_len"]

UNITS = ("utf16", "codepoint", "cluster")
"""What one Backspace deletes in a target."""

_CLUSTER = regex.compile(r"\X")


def clusters(text: str) -> list[str]:
    """The user-perceived characters of `text` (extended grapheme clusters)."""
    return _CLUSTER.findall(text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def uncertain(text: str) -> bool:
    """Whether editors that delete by different units need different Backspace counts for `text`."""
    return utf16_len(text) != len(text) or len(clusters(text)) != len(text)


def backspaces(text: str, unit: str) -> int:
    """How many Backspaces delete `text` exactly in a target whose Backspace deletes one `unit`."""
    if unit == "utf16":
        return utf16_len(text)
    if unit == "codepoint":
        return len(text)
    if unit == "cluster":
        return len(clusters(text))
    raise ValueError(f"unknown Backspace unit {unit!r}; expected one of {', '.join(UNITS)}")


def span_before_caret(text: str, start: int, end: int, typed: str, line_break: str) -> tuple[int, int] | None:
    """Where `typed` sits in a control's `text` (positions in UTF-16 units), ending at an empty selection at the
    caret; None when the text before the caret is not exactly `typed` (the user changed it, or moved away)."""
    if start != end:
        return None
    stored = typed.replace("\r\n", "\n").replace("\n", line_break).encode("utf-16-le", "surrogatepass")
    before = text.encode("utf-16-le", "surrogatepass")[: 2 * start]
    if not stored or not before.endswith(stored):
        return None
    return start - len(stored) // 2, start
