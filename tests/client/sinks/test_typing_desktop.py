"""Finals typed into a real (Tk, Xvfb) window: exact text, English and Chinese, spacing, clipboard restore."""

from __future__ import annotations

import subprocess
import unicodedata

import numpy as np
import pytest

from tests.client.protocol_server import ProtocolServer, phrase_transcriber
from tray_client.config import ClientConfig
from tray_client.events import FinalText, Notice
from tray_client.pipeline import Pipeline
from tray_client.sinks import set_clipboard
from tray_client.sinks._x11 import XdotoolTyper
from tray_client.text.sanitize import sanitize
from tray_client.text.spacing import Spacer

pytestmark = pytest.mark.desktop


def dictate(sample, output: str, transcribe=None, **settings) -> tuple[list[str], list[Notice]]:
    """Run the file through the pipeline into the focused window (with these extra settings); return the finals
    and notices."""
    finals: list[str] = []
    notices: list[Notice] = []
    with ProtocolServer(transcribe or phrase_transcriber(sample.samples, sample.phrases)) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, input_wav=str(sample.path), fast=True, no_tray=True,
                                         output=output, **settings))
        pipeline.subscribe(lambda e: finals.append(e.text) if isinstance(e, FinalText) else None)
        pipeline.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
        pipeline.start()
        assert pipeline.wait_done(60)
        pipeline.shutdown()
    return finals, notices


@pytest.mark.parametrize(("language", "expected"), [
    ("english", "hello world this is a dictation test the quick brown fox jumps over the lazy dog "
                "please send the report before noon"),
    ("mandarin", "你好世界今天天气很好我们去公园散步吧"),
])
def test_type_output_lands_exactly_with_spacing_rules(speech, tk_target, language, expected):
    finals, notices = dictate(getattr(speech, language), "type")
    assert len(finals) == 3 and notices == []
    assert tk_target.wait_for_text(expected) == expected


def test_typer_handles_mixed_scripts_and_punctuation(tk_target):
    text = "Qwen3-ASR 识别中文 and English, 100% «ok»!"
    XdotoolTyper().emit(text)
    assert tk_target.wait_for_text(text) == text


def test_clipboard_output_pastes_then_restores_the_clipboard(speech, tk_target):
    env = tk_target.env
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=b"keep me", env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    finals, _ = dictate(speech.mandarin, "clipboard")
    expected = "".join(finals)
    assert expected == "你好世界今天天气很好我们去公园散步吧"
    assert tk_target.wait_for_text(expected) == expected
    held = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=env, capture_output=True, timeout=10)
    assert held.stdout == b"keep me"


def test_control_characters_from_the_model_never_reach_the_window(speech, tk_target):
    raw = ["he\x00llo\r\n<|im_end|>", "wor\x1bld\t\u202e", "\x07"]
    texts = iter(raw)
    finals, _ = dictate(speech.english, "type", transcribe=lambda i, a: next(texts))
    assert finals == ["hello", "world", ""]
    assert tk_target.wait_for_text("hello world") == "hello world"



@pytest.fixture(scope="module")
def tiny_model(tiny_checkpoint):
    from qwen_asr import Qwen3ASRModel

    return Qwen3ASRModel.from_pretrained(str(tiny_checkpoint), max_new_tokens=32)


def test_sanitizer_strips_what_the_tiny_model_emits(speech, tk_target, tiny_model):
    raw: list[str] = []

    def transcribe(utterance_id: str, audio: bytes) -> str:
        samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32) / 32768.0
        raw.append(tiny_model.transcribe((samples, 16_000))[0].text)
        return raw[-1]

    finals, _ = dictate(speech.english, "type", transcribe=transcribe)
    assert len(finals) == 3
    assert any(unicodedata.category(c) == "Cc" or c == "\ufffd" for text in raw for c in text), \
        "the tiny model's raw output should contain garbage for this test to mean something"
    assert finals == [sanitize(text) for text in raw]
    spacer = Spacer()
    expected = "".join(spacer.next(text) for text in finals)
    typed = tk_target.wait_for_text(expected)
    assert typed == expected
    assert all(unicodedata.category(c)[0] != "C" and c != "\ufffd" for c in typed)


def test_set_clipboard_is_public_for_the_tray(x_display):
    set_clipboard("copied 你好")
    held = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=x_display.env(), capture_output=True,
                          timeout=10)
    assert held.stdout.decode() == "copied 你好"
