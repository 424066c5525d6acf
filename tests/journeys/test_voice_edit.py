"""A user's story: they select a sentence in their editor (a Tk text window), press Ctrl+Alt+E, say "make this
more formal", press Ctrl+Alt+E again, and the sentence is replaced by what their LLM answered; their clipboard
holds what they had copied before; Ctrl+Alt+Z brings the original sentence back. With the LLM failing, the
sentence stays as it was and a notice says why."""

from __future__ import annotations

import time

import pytest

from dictation_devtools.fake_chat import FakeChat
from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import WavClock
from tests.desktop.tray_harness import start_tray, xrun
from tests.journeys._voice_edit_support import clipboard, set_clipboard, speak_instruction, spoken_instruction
from tray_client.events import ClientState

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]

ORIGINAL = "hey can u send me the report"
FORMAL = "Could you please send me the report?"
INSTRUCTION = "make this more formal"


def _start(x_display, tmp_path, server_url: str, wav, chat_url: str):
    tray = start_tray(x_display, tmp_path / "home", "--server", server_url, "--input-wav", str(wav),
                      "--start-listening", "--cleanup-url", chat_url)
    tray.find_icon()
    tray.wait_state(ClientState.LISTENING, 60)  # the WAV "mic" plays from now on
    return tray, WavClock(time.monotonic())


def _select_all(x_display, tk_target) -> None:
    tk_target.focus()
    # From the start to the end of the text, as a user selects with the keyboard. Not Tk's Select All
    # (Ctrl+/): it also selects the newline Tk keeps after the last line, which no edit can delete, so undo
    # would type one newline more than the user ever saw.
    xrun(x_display, "xdotool", "key", "ctrl+Home", "shift+ctrl+End")


def test_the_selection_is_rewritten_by_a_spoken_instruction_and_undo_brings_it_back(
        x_display, tk_target, tmp_path):
    spoken = spoken_instruction(INSTRUCTION, tmp_path / "speech")
    tk_target.focus()
    xrun(x_display, "xdotool", "type", "--delay", "20", ORIGINAL)
    assert tk_target.wait_for_text(ORIGINAL, 10) == ORIGINAL
    set_clipboard(x_display, "what I copied earlier")
    with ScriptedServer([spoken.phrase]) as server, FakeChat("answer", answer=FORMAL) as chat:
        tray, clock = _start(x_display, tmp_path, server.url, spoken.wav, chat.url)
        try:
            _select_all(x_display, tk_target)
            onset = speak_instruction(tray, clock, spoken, "ctrl+alt+e")
            assert onset < spoken.start_s, f"the recording began at {onset:.2f} s, after the instruction started"
            assert tk_target.wait_for_text(FORMAL, 60) == FORMAL, tray.log_text()[-3000:]
            assert clipboard(x_display) == "what I copied earlier"
            asked = chat.requests[-1]["messages"][-1]["content"]
            assert INSTRUCTION in asked and ORIGINAL in asked, asked

            tray.key("ctrl+alt+z")
            assert tk_target.wait_for_text(ORIGINAL, 20) == ORIGINAL, tray.log_text()[-3000:]
            assert tray.quit() < 10
        finally:
            tray.close()


def test_a_failing_llm_leaves_the_selection_as_it_was_and_says_why(x_display, tk_target, tmp_path):
    spoken = spoken_instruction(INSTRUCTION, tmp_path / "speech")
    tk_target.focus()
    xrun(x_display, "xdotool", "type", "--delay", "20", ORIGINAL)
    assert tk_target.wait_for_text(ORIGINAL, 10) == ORIGINAL
    with ScriptedServer([spoken.phrase]) as server, FakeChat("broken") as chat:
        tray, clock = _start(x_display, tmp_path, server.url, spoken.wav, chat.url)
        try:
            _select_all(x_display, tk_target)
            speak_instruction(tray, clock, spoken, "ctrl+alt+e")
            assert wait_for(lambda: "Voice edit failed" in tray.log_text(), 60), tray.log_text()[-3000:]
            assert "500" in tray.log_text().split("Voice edit failed", 1)[1].splitlines()[0]
            xrun(x_display, "xdotool", "key", "ctrl+End")  # deselect, so the settling marker types after the text
            assert tk_target.settled_text() == ORIGINAL  # not a character typed, nothing deleted
            assert chat.requests, "the LLM was asked"
            tray.quit()
        finally:
            tray.close()
