"""The one joining rule (dictation_core.joining) in Chinese, Japanese, Korean, English and mixed text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictation_core.joining import is_unspaced, join_text, separator

CASES = [
    # English: words are spaced.
    ("hello", "world", "hello world"),
    ("end.", "Next", "end. Next"),
    ("end. ", " Next", "end. Next"),
    # Chinese: no spaces between words, nor after or before full-width punctuation.
    ("你好", "世界", "你好世界"),
    ("你好。", "世界", "你好。世界"),
    ("你好", "，世界", "你好，世界"),
    # Japanese: kana and kanji unspaced, including half-width katakana.
    ("こんにちは", "世界", "こんにちは世界"),
    ("カタカナ", "ﾊﾝｶｸ", "カタカナﾊﾝｶｸ"),
    ("ありがとう。", "また", "ありがとう。また"),
    # Korean: Hangul is written with spaces between words.
    ("안녕하세요", "감사합니다", "안녕하세요 감사합니다"),
    ("안녕하세요.", "감사합니다", "안녕하세요. 감사합니다"),
    ("ㅋㅋ", "좋아", "ㅋㅋ 좋아"),
    # Mixed: a space where CJK meets Latin or Hangul, none next to full-width punctuation.
    ("我用", "Python", "我用 Python"),
    ("Python", "很好", "Python 很好"),
    ("你好。", "world", "你好。world"),
    ("hello", "。", "hello。"),
    ("한국어", "中文", "한국어 中文"),
    ("日本語", "한국어", "日本語 한국어"),
    # Empty sides add nothing.
    ("", "hello", "hello"),
    ("hello", "", "hello"),
    ("", "", ""),
]


@pytest.mark.parametrize(("left", "right", "joined"), CASES)
def test_join_text(left, right, joined):
    assert join_text(left, right) == joined


@pytest.mark.parametrize(("left", "right", "joined"), CASES)
def test_separator_agrees_with_join_text_on_trimmed_text(left, right, joined):
    """The client adds the separator in front of each final; the server joins windows: same result."""
    left, right = left.rstrip(), right.lstrip()
    assert left + separator(left, right) + right == joined


def test_separator_adds_nothing_where_whitespace_already_is():
    assert separator("hello ", "world") == ""
    assert separator("hello", "\nworld") == ""


def test_unspaced_scripts():
    assert all(is_unspaced(c) for c in "中文にほんごカタカナﾊ。，！？「」𠀀")
    assert not any(is_unspaced(c) for c in "a1.,!?안녕ㅋﾡé ")
    assert not is_unspaced("") and not is_unspaced("中文")


@given(st.text(max_size=20), st.text(max_size=20))
def test_join_changes_nothing_but_the_whitespace_at_the_seam(left, right):
    joined = join_text(left, right)
    head, tail = left.rstrip(), right.lstrip()
    assert joined in (head + tail, head + " " + tail)
    assert joined == head + tail or (head and tail), "a space only ever goes between two non-empty pieces"
