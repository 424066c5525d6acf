"""Spacing between consecutive finals: none between CJK utterances, one space otherwise."""

from __future__ import annotations


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
