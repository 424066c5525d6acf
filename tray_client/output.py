"""What a final becomes before it reaches the user's window: sanitized, then spaced against the previous one.

Pure functions, no I/O: the model can emit control characters, stray special tokens and runaway repetitions, and
whatever we type lands in someone's document or terminal. So every final is cleaned here, and the spacing rule
between consecutive utterances lives in one place.
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


def is_cjk(char: str) -> bool:
    """True for characters of scripts written without spaces between words (Chinese, Japanese kana, fullwidth)."""
    code = ord(char)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= code <= 0xFFEF  # fullwidth forms and punctuation
        or 0x20000 <= code <= 0x2FA1F  # extensions B-F, compatibility supplement
    )


def separator(previous: str, text: str) -> str:
    """The text to put between the previous output and this final: "" or " ".

    Nothing before the first utterance, nothing between two CJK utterances (Chinese has no spaces between
    words), a single space otherwise (between English words, and between English and Chinese, as people type).
    """
    if not previous or not text:
        return ""
    if is_cjk(previous[-1]) and is_cjk(text[0]):
        return ""
    return " "


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

    def reset(self) -> None:
        """Forget the previous output (the user moved to another window, or the output mode changed)."""
        self._previous = ""
