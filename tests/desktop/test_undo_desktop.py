"""Undo on a real X display: Ctrl+Alt+Z (through XTest, like a user) deletes exactly the last final from the
focused Tk window; after the focus moved, or after the user typed, it deletes nothing and says why."""

from __future__ import annotations

import pytest

from dictation_devtools.desktop import start_tk_target
from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray, xrun

pytestmark = [pytest.mark.desktop]


def test_undo_removes_exactly_the_last_final_and_refuses_after_the_focus_moved(
        x_display, tk_target, speech, tmp_path):
    english, mandarin = known(speech.english, 0), known(speech.mandarin, 0)
    # Phrase 1, then a long pause for the first undo, then phrase 2.
    wav = compose(tmp_path / "undo.wav", [silence(2.0), english.audio, silence(8.0), mandarin.audio, silence(2.0)])
    other = start_tk_target(x_display, tmp_path / "other-window")
    tk_target.focus()
    with ScriptedServer([english, mandarin]) as server:
        tray = start_tray(x_display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--start-listening")
        try:
            tray.find_icon()
            tk_target.focus()
            assert tk_target.wait_for_text(english.text, 60) == english.text
            tray.key("ctrl+alt+z")
            assert tk_target.wait_for_text("", 10) == "", "undo must delete exactly the final it typed"

            # Phrase 2 is typed; then the user clicks into another window.
            # Exactly the phrase: the undo also took back the spacing, so no stray space starts it.
            assert tk_target.wait_for_text(mandarin.text, 30) == mandarin.text
            typed = tk_target.text()
            other.focus()
            tray.key("ctrl+alt+z")
            assert wait_for(lambda: "Undo did nothing" in tray.log_text(), 10), tray.log_text()[-2000:]
            assert "another window" in tray.log_text()
            assert tk_target.text() == typed and other.text() == ""

            # Back in the window, the user types a key: undo must not eat it (nor our text behind it).
            tk_target.focus()
            xrun(x_display, "xdotool", "type", "--delay", "20", "!")
            assert tk_target.wait_for_text(typed + "!", 5) == typed + "!"
            tray.key("ctrl+alt+z")
            assert wait_for(lambda: "you typed after" in tray.log_text(), 10), tray.log_text()[-2000:]
            assert tk_target.text() == typed + "!"
            tray.quit()
        finally:
            tray.close()
            other.close()
