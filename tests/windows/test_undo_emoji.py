"""Undo with emoji in Notepad under Wine: the real tray app, the real win32 sink and the undo hotkey pressed as a
user does. Wine's Edit control deletes one UTF-16 unit per Backspace; undo pressed one per code point, leaving
half a surrogate pair ("Dear team OK \\ud83d"). It now reads the control back, selects exactly its text and
deletes that: the user's own words stay, not a unit more or less goes."""

from __future__ import annotations

import pytest

from dictation_devtools.wine.harness import focus_notepad, poll, xdotool
from tests.windows.conftest import PHRASES

pytestmark = [pytest.mark.journey, pytest.mark.slow]


@pytest.mark.parametrize("name", ["family", "astral"])
def test_undo_of_a_final_with_emoji_in_notepad_leaves_exactly_the_users_text(start_tray, notepad, phrases,
                                                                              wine_lane, name):
    tray = start_tray(start_listening=True)
    tray.wait_hotkeys()
    focus_notepad(wine_lane.display)
    xdotool(wine_lane.display, "type", "--delay", "30", "Mine:")  # the user's own words
    poll(lambda: notepad.call("notepad_text") == "Mine:", 20, what="the user's words in Notepad")
    tray.say(name, phrases[name].audio.tobytes())
    typed = poll(lambda: notepad.call("notepad_text").endswith(" done" if name == "family" else "😀"), 30,
                 what="the final typed") and notepad.call("notepad_text")
    assert typed in (f"Mine:{PHRASES[name]}", f"Mine: {PHRASES[name]}"), typed  # the spacer may add a space
    xdotool(wine_lane.display, "key", "ctrl+alt+z")
    poll(lambda: notepad.call("notepad_text") == "Mine:", 20, what="exactly the final undone")
    assert "\ud83d" not in notepad.call("notepad_text")
