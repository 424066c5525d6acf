"""The stand-ins themselves work: the tiny checkpoint transcribes, the speech is where we say, typing lands."""

from __future__ import annotations

import subprocess

import numpy as np

from dictation_devtools.speech import SAMPLE_RATE


def test_tiny_checkpoint_transcribes_fixture_wav_through_real_qwen_asr(tiny_checkpoint, speech):
    from qwen_asr import Qwen3ASRModel
    from qwen_asr.core.transformers_backend import Qwen3ASRProcessor

    assert tiny_checkpoint.is_absolute()
    processor = Qwen3ASRProcessor.from_pretrained(str(tiny_checkpoint))
    assert processor.audio_token == "<|audio_pad|>"
    model = Qwen3ASRModel.from_pretrained(str(tiny_checkpoint), max_new_tokens=16)
    audio = speech.english.samples.astype(np.float32) / 32768.0
    results = model.transcribe((audio, SAMPLE_RATE))
    assert len(results) == 1
    # Random weights give random text, but the real path produced some tokens and parsed them.
    assert isinstance(results[0].text, str)
    assert results[0].text != "" or results[0].language == ""
    raw = model._infer_asr([""], [audio], [None])
    assert len(raw) == 1 and len(raw[0]) > 0


def test_speech_fixture_has_silence_where_it_says(speech):
    for sample in (speech.english, speech.mandarin):
        assert len(sample.phrases) == 3
        audio = sample.samples.astype(np.float32)
        for index, phrase in enumerate(sample.phrases):
            inside = audio[int(phrase.start_s * SAMPLE_RATE) : int(phrase.end_s * SAMPLE_RATE)]
            assert np.abs(inside).max() > 1000, "speech inside the phrase"
            if index + 1 < len(sample.phrases):
                gap = audio[int(phrase.end_s * SAMPLE_RATE) + 1 : int(sample.phrases[index + 1].start_s * SAMPLE_RATE)]
                assert gap.size > SAMPLE_RATE and np.abs(gap).max() == 0, "known silence between phrases"


def test_typed_text_reaches_the_tk_window_exactly(tk_target):
    text = "Hello, world 你好世界"
    subprocess.run(["xdotool", "type", "--delay", "40", "--", text], env=tk_target.env, check=True, timeout=30)
    assert tk_target.wait_for_text(text) == text
    tk_target.clear()
    assert tk_target.text() == ""


def test_tray_is_running(x_display):
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=x_display.env(), capture_output=True, text=True)
    assert "panel" in tree.stdout.lower() or "trayer" in tree.stdout.lower()
