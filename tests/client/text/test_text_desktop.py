"""The text stage end to end: a scripted server's finals, the real pipeline and xdotool, a Tk window on Xvfb."""

from __future__ import annotations

import asyncio
import subprocess

import numpy as np
import pytest

from dictation_devtools.desktop import start_tk_target
from dictation_devtools.polling import wait_for
from tests.client.protocol_server import ProtocolServer, phrase_transcriber
from tests.client.sinks.test_typing_desktop import dictate
from tray_client.capture.audio_source import WavSource
from tray_client.capture.segmenter import FRAME_SAMPLES
from tray_client.config import ClientConfig
from tray_client.events import ClientState
from tray_client.pipeline import Pipeline
from tray_client.sinks._x11 import X11ClipboardPaster

pytestmark = pytest.mark.desktop


def scripted(sample, *texts: str):
    """The server answers the sample's utterances with these texts, in order ("" for the rest)."""
    padded = [*texts, *[""] * (len(sample.phrases) - len(texts))]
    return phrase_transcriber(sample.samples, sample.phrases, padded)


def test_new_line_command_types_a_line_break_and_nothing_of_the_command(speech, tk_target):
    finals, notices = dictate(speech.english, "type", scripted(speech.english, "Hello, new line, world."))
    assert finals[0] == "Hello\nworld." and notices == []
    assert tk_target.wait_for_text("Hello\nworld.") == "Hello\nworld."


def test_model_newlines_are_spaces_while_commands_press_keys(speech, tk_target):
    transcribe = scripted(speech.english, "One\r\ntwo,\n new paragraph, three\x1b[A.")
    dictate(speech.english, "type", transcribe)
    assert tk_target.wait_for_text("One two\n\nthree[A.") == "One two\n\nthree[A."


def test_scratch_that_deletes_the_last_dictation(speech, tk_target):
    transcribe = scripted(speech.english, "Keep this.", "Drop this sentence.", "Scratch that.")
    finals, notices = dictate(speech.english, "type", transcribe)
    assert finals == ["Keep this.", "Drop this sentence.", ""] and notices == []
    assert tk_target.wait_for_text("Keep this.") == "Keep this."


def test_traditional_script(speech, tk_target):
    dictate(speech.mandarin, "type", scripted(speech.mandarin, "这是简体中文。"), chinese_script="traditional")
    assert tk_target.wait_for_text("這是簡體中文。") == "這是簡體中文。"


def test_replacements_apply_inside_a_sentence(speech, tk_target):
    transcribe = scripted(speech.english, "We asked open ai and 我司的团队 about it.")
    dictate(speech.english, "type", transcribe, replacements={"open ai": "OpenAI", "我司": "我们公司"})
    expected = "We asked OpenAI and 我们公司的团队 about it."
    assert tk_target.wait_for_text(expected) == expected


def test_each_app_gets_its_profile(speech, x_display, tmp_path, monkeypatch):
    """Two windows of different WM_CLASS: the profile of the one focused when the utterance starts applies."""
    pasted: list[str] = []
    real_paste = X11ClipboardPaster.emit

    def paste(self, text: str) -> None:  # the real paster, watched: which texts went through the clipboard
        pasted.append(text)
        real_paste(self, text)

    monkeypatch.setattr(X11ClipboardPaster, "emit", paste)
    apps = {"Notesapp": {"suffix": " [notes]", "replacements": {"hello": "Hi"}},
            "Termapp": {"output": "clipboard", "paste_keys": "ctrl+v", "voice_commands": False}}
    notes = start_tk_target(x_display, tmp_path / "notes", "Notesapp")
    term = start_tk_target(x_display, tmp_path / "term", "Termapp")
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=b"kept", env=x_display.env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    try:
        text = "Hello there, new line, ok."
        notes.focus()
        dictate(speech.english, "type", scripted(speech.english, text), apps=apps)
        assert notes.wait_for_text("Hi there\nok. [notes]") == "Hi there\nok. [notes]"
        assert pasted == [], "typed, not pasted"
        term.focus()
        dictate(speech.english, "type", scripted(speech.english, text), apps=apps)
        assert term.wait_for_text(text) == text  # as said: no commands, no suffix, no replacements
        assert notes.text() == "Hi there\nok. [notes]"
        assert pasted == [text]
        held = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=x_display.env(), capture_output=True,
                              timeout=10)
        assert held.stdout == b"kept"
    finally:
        notes.close()
        term.close()


class ListeningSource(WavSource):
    """The WAV file in real time, then silence that never ends: a microphone that stays open, so listening can
    be turned off (the gaps between phrases give the first final time to arrive before the next phrase)."""

    def __init__(self, path) -> None:
        super().__init__(path, fast=False)
        self.finite = False

    async def frames(self):
        async for frame in super().frames():
            yield frame
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        while True:
            await asyncio.sleep(0.032)
            yield silence


def test_an_apps_language_and_glossary_go_to_the_server_and_stop_listening_turns_listening_off(
        speech, x_display, tmp_path, recording_sink):
    sample = speech.english
    notes = start_tk_target(x_display, tmp_path / "notes", "Notesapp")
    with ProtocolServer(scripted(sample, "Bonjour, stop listening.", "Never typed.", "Never typed.")) as server:
        config = ClientConfig(server=server.url, no_tray=True, start_listening=True, glossary=("Qwen3-ASR",),
                              apps={"Notesapp": {"language": "French", "glossary": ["vLLM"]}})
        pipeline = Pipeline(config, source=ListeningSource(sample.path), sink=recording_sink)
        pipeline.start()
        try:
            assert recording_sink.wait_for(1) == ["Bonjour"]
            assert wait_for(lambda: pipeline.state is ClientState.OFF, 20), pipeline.state
            hellos = list(server.record.hellos)
            finals = list(server.record.finals_sent)
        finally:
            pipeline.shutdown()
            notes.close()
    assert (hellos[0]["language"], hellos[0]["context"]) == (None, "Qwen3-ASR")
    assert (hellos[-1]["language"], hellos[-1]["context"]) == ("French", "Qwen3-ASR\nvLLM")
    assert len(finals) == 1, "no utterance after stop listening"
