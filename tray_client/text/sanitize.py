"""Sanitize a final before it reaches the user's window: no control characters, no special tokens, no runaway.

Pure functions, no I/O: the model can emit control characters, stray special tokens and runaway repetitions, and
whatever we type lands in someone's document or terminal, so every final is cleaned here.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_MAX_CHARS = 2000

# Categories that must never be typed: controls, format characters (bidi overrides, zero-width), surrogates,
# private use and unassigned code points.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Format characters that real text needs: zero-width joiner/non-joiner (emoji, Indic scripts).
_KEEP_FORMAT = frozenset({"\u200c", "\u200d"})
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]{1,40}\|>|</?asr_text>")
_WHITESPACE = re.compile(r"\s+")


def sanitize(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Make a model transcript safe to type: no control or invisible characters, one space between words.

    Whitespace of any kind (newlines, tabs, no-break spaces) becomes a single space, so a final never presses
    Enter in the user's window. Text longer than `max_chars` is cut at the last space before the limit.
    """
    text = unicodedata.normalize("NFC", text)
    text = _SPECIAL_TOKEN.sub(" ", text)
    text = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or char in _KEEP_FORMAT or unicodedata.category(char) not in _DROP_CATEGORIES
    )
    text = text.replace("\ufffd", "")
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > max_chars:
        cut = text[:max_chars]
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars // 2 else cut).rstrip()
    return text
