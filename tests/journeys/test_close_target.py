"""Close the window you spoke into while its text is still coming (issue 17, point 2): the text is typed nowhere
else. It goes on the clipboard, a notice on the user's desktop says so, and the history says where it went.

On a real desktop (Xvfb, openbox, a tray, dunst on a session bus) with the tray app as a user starts it and the
scripted server; the server takes a moment for each final, so the user closes Notes before it comes. Chat, the
other window on the screen, is where the focus goes next: it must stay empty.
"""

from __future__ import annotations

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from dictation_devtools.user_desktop import UserDesktop
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray
from tests.journeys._focus_support import clipboard, history, wait_for_log
from tray_client.desktop.pinning import FOCUS_LOST_MESSAGE

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]


def test_closing_the_target_while_its_final_comes_puts_the_text_on_the_clipboard_and_types_nothing(
        user_desktop: UserDesktop, speech, tmp_path, monkeypatch: pytest.MonkeyPatch):
    phrase = known(speech.english, 0)
    wav = compose(tmp_path / "one.wav", [silence(2.0), phrase.audio, silence(4.0)])
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", user_desktop.bus_address)  # the app's notices reach dunst
    chat = user_desktop.open_target(tmp_path / "chat", wm_class="Chatapp")
    notes = user_desktop.open_target(tmp_path / "notes", wm_class="Notesapp")
    notes.focus()
    with ScriptedServer([phrase], final_delay_s=2.0) as server:
        tray = start_tray(user_desktop.display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--start-listening", "--no-overlay", as_module=True)
        try:
            tray.find_icon()
            wait_for_log(tray, "is pinned to window", 90)
            notes.close()  # the user closes Notes while the text is on its way
            chat.focus()  # and is in Chat now
            notice = user_desktop.wait_for_notification(FOCUS_LOST_MESSAGE, 60)
            assert "Ctrl+Alt+V" in notice.body + notice.summary
            assert clipboard(user_desktop.display) == phrase.text
            assert chat.settled_text() == "", "the text followed the focus into another window"
            rows = [row for row in history(tray) if row["text"] == phrase.text]
            assert [row["target_app"] for row in rows] == ["clipboard"], rows
            tray.quit()
        finally:
            tray.close()
            chat.close()
            notes.close()
