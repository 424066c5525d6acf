"""Voice edit in Notepad under Wine: the real tray app, the Win32 clipboard and SendInput. The user selects their
sentence, presses Ctrl+Alt+E, says the instruction, presses Ctrl+Alt+E again: the LLM's answer (a fake
OpenAI-compatible endpoint on loopback) replaces the sentence, the user's clipboard (text and a format of
another app's) is as it was, and Ctrl+Alt+Z brings the sentence back."""

from __future__ import annotations

import pytest

from dictation_devtools.fake_chat import FakeChat
from tests.windows.harness import focus_notepad, poll, xdotool

pytestmark = [pytest.mark.journey, pytest.mark.slow]

ORIGINAL = "hey can u send me the report"
FORMAL = "Could you please send me the report?"


def test_voice_edit_in_notepad_replaces_the_selection_keeps_the_clipboard_and_undo_restores_it(
        start_tray, notepad, phrases, wine_lane):
    with FakeChat("answer", answer=FORMAL) as chat:
        tray = start_tray(start_listening=True, cleanup_url=chat.url)
        tray.wait_hotkeys()
        focus_notepad(wine_lane.display)
        xdotool(wine_lane.display, "type", "--delay", "30", ORIGINAL)
        poll(lambda: notepad.call("notepad_text") == ORIGINAL, 20, what="the user's sentence in Notepad")
        notepad.call("clipboard_set", text="the user's own text", custom={"Another App Format": "c0ffee"})
        focus_notepad(wine_lane.display)
        xdotool(wine_lane.display, "key", "ctrl+a")
        xdotool(wine_lane.display, "key", "ctrl+alt+e")
        poll(lambda: "recording the instruction" in tray.text_output(), 30, what="the selection copied")
        tray.say("instruction", phrases["instruction"].audio.tobytes())
        tray.wait_spoken()
        xdotool(wine_lane.display, "key", "ctrl+alt+e")
        poll(lambda: notepad.call("notepad_text") == FORMAL, 40, what="the answer over the selection")
        clip = notepad.call("clipboard_get", custom=["Another App Format"])
        assert clip["text"] == "the user's own text" and clip["custom"] == {"Another App Format": "c0ffee"}
        asked = chat.requests[-1]["messages"][-1]["content"]
        assert "Make this more formal." in asked and ORIGINAL in asked

        xdotool(wine_lane.display, "key", "ctrl+alt+z")
        poll(lambda: notepad.call("notepad_text") == ORIGINAL, 30, what="the sentence back after undo")
