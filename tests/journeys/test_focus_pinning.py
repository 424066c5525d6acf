"""Text only where you spoke, on a real X display (Xvfb, the tray app as a user starts it, the scripted server).

1. The user dictates into Notes, then starts a second sentence there and clicks into Chat before its text
   comes: Chat gets nothing, the text is on the clipboard, a notice says so; Ctrl+Alt+V (Paste last) then types
   it into Chat. The history says where each text really went.
2. A menu is open (it holds the keyboard) when the text comes: nothing is typed into the menu; once it
   closes, the text lands in the window the user spoke into.
"""

from __future__ import annotations

import pytest

from dictation_devtools.desktop import start_tk_target
from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray
from tests.journeys._focus_support import (
    OpenMenu,
    clipboard,
    history,
    wait_for_log,
    wait_for_notice,
)

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]

PINNED = "is pinned to window"


def test_text_never_follows_the_focus_into_another_window_and_paste_last_brings_it_there(
        x_display, speech, tmp_path):
    first, second = known(speech.english, 0), known(speech.english, 1)
    wav = compose(tmp_path / "two.wav", [silence(2.0), first.audio, silence(6.0), second.audio, silence(3.0)])
    notes = start_tk_target(x_display, tmp_path / "notes", wm_class="Notesapp")
    chat = start_tk_target(x_display, tmp_path / "chat", wm_class="Chatapp")
    notes.focus()
    with ScriptedServer([first, second], final_delay_s=1.5) as server:
        tray = start_tray(x_display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--start-listening", "--no-overlay", as_module=True)
        try:
            tray.find_icon()
            assert notes.wait_for_text(first.text, 60) == first.text
            # The second sentence starts in Notes; the user clicks into Chat before its text comes.
            assert wait_for(lambda: tray.log_text().count(PINNED) >= 2, 60), tray.log_text()[-3000:]
            chat.focus()
            notice = wait_for_notice(tray, "Your text is on the clipboard: the window you spoke into lost the focus")
            assert "Ctrl+Alt+V" in notice
            assert clipboard(x_display) == second.text
            assert chat.settled_text() == "" and notes.text() == first.text

            # Paste last: the text goes where the user is now, without a separator from Notes' text.
            chat.clear()
            tray.key("ctrl+alt+v")
            assert chat.wait_for_text(second.text, 30) == second.text
            assert notes.text() == first.text

            rows = {row["text"]: row["target_app"] for row in history(tray)}
            assert rows[first.text] == "Notesapp" and rows[second.text] == "clipboard"
            tray.quit()
        finally:
            tray.close()
            notes.close()
            chat.close()


def test_a_final_that_comes_while_a_menu_is_open_is_typed_into_its_window_after_the_menu_closed(
        x_display, speech, tmp_path):
    phrase = known(speech.english, 0)
    wav = compose(tmp_path / "one.wav", [silence(2.0), phrase.audio, silence(4.0)])
    notes = start_tk_target(x_display, tmp_path / "notes", wm_class="Notesapp")
    notes.focus()
    with ScriptedServer([phrase], final_delay_s=1.5) as server:
        tray = start_tray(x_display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--start-listening", "--no-overlay", as_module=True)
        try:
            tray.find_icon()
            wait_for_log(tray, PINNED, 60)
            menu = OpenMenu(x_display)  # the user opened a menu while the text was on its way
            try:
                wait_for_log(tray, "a final waits", 60)
                assert notes.text() == ""
            finally:
                menu.close()
            assert notes.wait_for_text(phrase.text, 30) == phrase.text
            assert [row["target_app"] for row in history(tray)] == ["Notesapp"]
            tray.quit()
        finally:
            tray.close()
            notes.close()
