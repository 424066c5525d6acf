"""One rule for joining two pieces of transcript, used by the server (window commits inside an utterance) and
the client (consecutive utterances typed into a window), so both put spaces in the same places.

Chinese and Japanese are written without spaces between words; Korean (Hangul) is written with spaces between
words, like English. Between a CJK character and a Latin (or Hangul) one we put a space, as people type mixed
text ("用 Python 写"); next to full-width punctuation (。，！) never, because that punctuation carries its own
spacing.
"""

from __future__ import annotations

import unicodedata

# Scripts written without spaces between words: Han, kana, bopomofo, their punctuation and full-width forms.
# Hangul (U+1100-11FF, U+3130-318F, U+AC00-D7AF, half-width U+FFA0-FFDC) is deliberately not here.
_UNSPACED_RANGES = (
    (0x2E80, 0x2FFF),  # CJK radicals, Kangxi radicals, ideographic description
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x31A0, 0x31FF),  # bopomofo extended, CJK strokes, katakana phonetic extensions
    (0x3200, 0x4DBF),  # enclosed CJK, CJK compatibility, extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms (vertical punctuation)
    (0xFF00, 0xFF9F),  # full-width forms and half-width katakana
    (0xFFE0, 0xFFEF),  # full-width signs
    (0x20000, 0x3134F),  # extensions B-G, compatibility supplement
)


def is_unspaced(char: str) -> bool:
    """True for a character of a script written without spaces between words (Chinese, Japanese; not Korean)."""
    if len(char) != 1:
        return False
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)


def separator(left: str, right: str) -> str:
    """What goes between `left` and `right`: "" or " ".

    Nothing when either is empty or already has whitespace at the seam, between two Chinese/Japanese
    characters, or next to full-width punctuation; one space otherwise (English, Korean, and where CJK meets
    Latin or Hangul).
    """
    if not left or not right:
        return ""
    before, after = left[-1], right[0]
    if before.isspace() or after.isspace():
        return ""
    if is_unspaced(before) and is_unspaced(after):
        return ""
    if _wide_punctuation(before) or _wide_punctuation(after):
        return ""
    return " "


def join_text(left: str, right: str) -> str:
    """`left` and `right` with the whitespace at their seam replaced by the separator the rule asks for."""
    left, right = left.rstrip(), right.lstrip()
    return left + separator(left, right) + right


def _wide_punctuation(char: str) -> bool:
    return is_unspaced(char) and unicodedata.category(char).startswith("P")
