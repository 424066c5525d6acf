"""Properties of the output sanitizer, for any input: nothing unsafe gets through, real text is left alone."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tray_client.text.sanitize import sanitize

MAX = 200
# Everything typed into a window must be visible: no controls, formats (bidi overrides, zero-width), surrogates,
# private use or unassigned code points. Zero-width (non-)joiners are the one exception real scripts need.
FORBIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}
JOINERS = {"\u200c", "\u200d"}

# Printable "words": letters, marks, digits, punctuation and symbols of every script, CJK weighted in so that
# ideographs, kana and fullwidth forms appear in most examples. "<" is left out because "<|...|>" and
# "<asr_text>" are the model's special tokens, which the sanitizer removes on purpose; U+FFFD is a decoding
# error marker, also removed on purpose.
_visible = st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="<\ufffd")
_assigned = ("L", "M", "N", "P", "S")  # the CJK blocks hold unassigned code points too, which must be dropped
_cjk = st.one_of(st.characters(categories=_assigned, min_codepoint=0x4E00, max_codepoint=0x9FFF),
                 st.characters(categories=_assigned, min_codepoint=0x3040, max_codepoint=0x30FF),
                 st.characters(categories=_assigned, min_codepoint=0xFF01, max_codepoint=0xFF5E))
_word = st.text(st.one_of(_visible, _cjk), min_size=1, max_size=12)
printable_text = (st.lists(_word, max_size=12).map(" ".join)
                  .map(lambda text: unicodedata.normalize("NFC", text))
                  .filter(lambda text: text == text.strip() and "  " not in text and len(text) <= MAX))


@settings(max_examples=400)
@given(st.text(max_size=400))
@example("\x00\x07\x1b[31m\r\n\t\u202e\u200b\ufeff\ud800\ue000\U0010fffd")
@example("\u2028line\u2029para\x85next")
def test_no_control_or_invisible_character_ever_gets_through(raw):
    text = sanitize(raw, max_chars=MAX)
    assert all(unicodedata.category(c) not in FORBIDDEN or c in JOINERS for c in text)
    assert all(c == " " or not c.isspace() for c in text), "whitespace is normalized to single spaces"
    assert "  " not in text and text == text.strip()
    assert "\ufffd" not in text
    assert len(text) <= MAX
    assert sanitize(text, max_chars=MAX) == text  # idempotent: sanitizing twice changes nothing


@settings(max_examples=400)
@given(printable_text)
@example("你好世界今天天气很好")
@example("Qwen3-ASR 识别中文 and English, 100% «ok»! ｶﾀｶﾅ ＡＢＣ")
def test_printable_text_cjk_included_is_kept_unchanged(text):
    assert sanitize(text, max_chars=MAX) == text
