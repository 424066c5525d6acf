"""Undo's units: what one Backspace deletes differs between editors; the counts, when they agree, and finding
our text before the caret of a control that can be read back."""

from __future__ import annotations

import pytest

from tray_client.undo.units import backspaces, clusters, span_before_caret, uncertain

FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # 👨‍👩‍👧: one cluster, 5 code points, 8 UTF-16 units
THUMB = "\U0001F44D\U0001F3FD"  # 👍🏽 with a skin tone
FINAL = f" Dear team OK {FAMILY} and {THUMB} done"


def test_clusters_come_whole():
    assert clusters(f"a{FAMILY}b{THUMB}\U0001F1EB\U0001F1F7e\u0301") == ["a", FAMILY, "b", THUMB, "\U0001F1EB\U0001F1F7",
                                                                      "e\u0301"]


@pytest.mark.parametrize("text", [FAMILY, THUMB, "\U0001F1EB\U0001F1F7", "e\u0301", "\U0001D11E", "\U0001F600"])
def test_text_editors_delete_differently_is_uncertain(text):
    assert uncertain(text)


@pytest.mark.parametrize("text", ["plain words", "café", "你好世界", "Привет", ""])
def test_text_every_editor_deletes_alike_is_certain(text):
    assert not uncertain(text)


def test_backspaces_per_unit():
    assert [backspaces(FINAL, unit) for unit in ("utf16", "codepoint", "cluster")] == [36, 31, 26]
    with pytest.raises(ValueError, match="expected one of utf16, codepoint, cluster"):
        backspaces("x", "word")


def test_our_text_is_found_before_the_caret_in_utf16_units_with_the_controls_line_breaks():
    mine = "Notes:\r\n"  # the user's own text, then the final typed after it (Enter became CR LF in Edit)
    final = f" {THUMB} ok\nnext {FAMILY}"
    text = mine + final.replace("\n", "\r\n")
    caret = len(text.encode("utf-16-le")) // 2
    assert span_before_caret(text, caret, caret, final, "\r\n") == (8, caret)
    assert span_before_caret(text + "!", caret + 1, caret + 1, final, "\r\n") is None  # the user typed after it
    assert span_before_caret(text, 0, caret, final, "\r\n") is None  # a selection: the user is doing something
    assert span_before_caret(text.replace("ok", "OK"), caret, caret, final, "\r\n") is None  # edited
