"""Chinese script through OpenCC: one script out, only CJK runs touched, Japanese left alone."""

from __future__ import annotations

import pytest

from tray_client.text.chinese_script import ScriptConverter


@pytest.mark.parametrize(("script", "final", "expected"), [
    ("traditional", "这是简体中文。", "這是簡體中文。"),
    ("simplified", "這是繁體中文，我們開會吧。", "这是繁体中文，我们开会吧。"),
    ("simplified", "这个软體的設置很简单。", "这个软体的设置很简单。"),  # one final, both scripts
    ("traditional", "我们用Qwen3-ASR识别语音，效果不错！", "我們用Qwen3-ASR識別語音，效果不錯！"),
    ("taiwan", "这里的温度是26度。", "這裡的溫度是26度。"),
    ("hongkong", "这里的温度是26度。", "這裏的温度是26度。"),
    ("auto", "这是简体，這是繁體。", "这是简体，這是繁體。"),
])
def test_script_conversion(script, final, expected):
    assert ScriptConverter(script).convert(final, "Chinese") == expected


def test_latin_text_is_never_passed_through_opencc():
    converter = ScriptConverter("simplified")
    text = "Hello, World! 100% «ok» café naïve – done."
    assert converter.convert(text, "English") == text


def test_japanese_finals_keep_their_kanji():
    assert ScriptConverter("simplified").convert("東京で会議があります。", "Japanese") == "東京で会議があります。"


def test_unknown_script_is_refused():
    with pytest.raises(ValueError, match="simplified, traditional"):
        ScriptConverter("klingon")
