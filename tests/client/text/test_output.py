"""Sanitizing and spacing of finals: what reaches the user's window."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tray_client.text.sanitize import sanitize
from tray_client.text.spacing import Spacer


def test_sanitize_removes_controls_tokens_and_invisible_characters():
    raw = "\x00hello\x07 <|im_end|>wor\u202eld\x1b[31m\r\n\tagain\ufeff\ufffd <asr_text>"
    assert sanitize(raw) == "hello world[31m again"


def test_sanitize_normalizes_whitespace_so_a_final_never_presses_enter():
    assert sanitize("  one\n\ntwo\u00a0\u3000three  ") == "one two three"


def test_sanitize_cuts_runaway_text_at_a_word_boundary():
    text = sanitize("word " * 1000, max_chars=100)
    assert len(text) <= 100
    assert text.endswith("word") and "  " not in text


def test_sanitize_keeps_real_text_including_cjk_and_joiners():
    text = "Hello, 你好世界！ café 👩\u200d💻"
    assert sanitize(text) == text


@given(st.text(max_size=300))
def test_sanitized_text_is_printable_single_line_and_stable(raw):
    text = sanitize(raw, max_chars=120)
    assert len(text) <= 120
    assert text == text.strip() and "  " not in text
    assert all(unicodedata.category(c) not in ("Cc", "Cs", "Co", "Cn") for c in text)
    assert all(not c.isspace() or c == " " for c in text)
    assert sanitize(text, max_chars=120) == text


def test_spacer_puts_nothing_before_the_first_and_skips_empty_finals():
    spacer = Spacer()
    assert spacer.next("hello") == "hello"
    assert spacer.next("") == ""
    assert spacer.next("world") == " world"
    assert spacer.next("你好") == " 你好"
    assert spacer.next("世界") == "世界"
    assert spacer.next("안녕하세요") == " 안녕하세요"
    assert spacer.next("감사합니다") == " 감사합니다"
    spacer.reset()
    assert spacer.next("again") == "again"
