"""Typing into Notepad under Wine, through the tray app's real Windows sink (pynput: KEYEVENTF_UNICODE)."""

from __future__ import annotations

from dictation_devtools.wine.harness import focus_notepad, poll
from tests.windows.conftest import PHRASES


def test_ascii_accents_cjk_and_characters_outside_the_bmp_arrive_exactly(start_tray, notepad, phrases, wine_lane):
    tray = start_tray(start_listening=True)
    poll(lambda: any(tip.startswith("Dictation: listening") for tip in tray.tips()), 60, what="listening")
    for name in ("ascii", "accents", "cjk", "astral"):
        notepad.call("notepad_clear")
        focus_notepad(wine_lane.display)
        tray.say(name, phrases[name].audio.tobytes())
        # The spacer may put one space before an utterance that follows another; nothing else may differ.
        poll(lambda n=name: notepad.call("notepad_text").strip() == PHRASES[n], 30,
             what=f"{name!r} typed exactly")
        assert notepad.call("notepad_text").lstrip(" ") == PHRASES[name]


def test_a_dictated_new_line_is_a_line_break_and_nothing_else_is(start_tray, notepad, phrases, wine_lane):
    tray = start_tray(start_listening=True)
    poll(lambda: any(tip.startswith("Dictation: listening") for tip in tray.tips()), 60, what="listening")
    focus_notepad(wine_lane.display)
    tray.say("newline", phrases["newline"].audio.tobytes())
    # Notepad's edit control stores a line break as CR LF. The command's words and the model's punctuation
    # around it are not typed; the sentence's full stop is (tray_client.text.commands: "Hello, new line, world."
    # types "Hello⏎world.").
    poll(lambda: "second line." in notepad.call("notepad_text"), 30, what="the text after the line break")
    assert notepad.call("notepad_text") == "First line\r\nsecond line."
