"""A user's words survive the app being killed or the session ending while the server is down (issue 17, point 1).

Each journey starts the tray as a user does (`python -m tray_client`, on Xvfb with a window manager and a focused
Tk window), dictates while the server is not running, and then ends the app the way a user's day does: kill -9
(taskkill /F, a crash, a power cut), or a logout (SIGHUP). What it asserts is what the user sees: the log's quit
line, the WAV kept, the notification at the next start, the history that the tray's Recent menu shows, and a
target window that nothing was typed into.
"""

from __future__ import annotations

import signal

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray
from tests.journeys._keep_support import STARTUP_S, dictate_while_the_server_is_down, held_audio, history_rows

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]


def test_killed_with_words_held_for_a_down_server_they_are_offered_at_the_next_start(x_display, tk_target,
                                                                                      speech, tmp_path):
    phrase = known(speech.english, 0)
    home = tmp_path / "home"
    tk_target.focus()
    tray, port = dictate_while_the_server_is_down(x_display, tmp_path, home, phrase)
    tray.process.send_signal(signal.SIGKILL)  # no clean-up of any kind runs
    tray.process.wait(timeout=30)
    tray.close()
    assert held_audio(home), "the kill took the held audio with it"

    with ScriptedServer([phrase], port=port) as server:
        idle = compose(tmp_path / "idle.wav", [silence(1.0)])
        again = start_tray(x_display, home, "--server", server.url, "--input-wav", str(idle), "--start-listening",
                           as_module=True)
        try:
            again.find_icon(STARTUP_S)
            def notified() -> list[str]:
                return [line for line in again.log_text().splitlines() if "notification:" in line]

            assert wait_for(lambda: any("1 utterance(s) kept from before the app stopped are transcribed" in line
                                        and "Recent" in line for line in notified()), STARTUP_S), \
                again.log_text()[-3000:]
            again.quit()
        finally:
            again.close()
    rows = history_rows(again)
    assert [(row["text"], row["output"]) for row in rows] == [(phrase.text, "recovered")], rows
    assert tk_target.settled_text() == "", "recovered words were typed into whatever window was in front"
    assert held_audio(home) == {}, "the recovered audio was left behind to be recovered twice"


def test_a_logout_sighup_saves_the_held_words_as_a_wav_and_logs_the_quit(x_display, speech, tmp_path):
    phrase = known(speech.mandarin, 0)
    home = tmp_path / "home"
    tray, _ = dictate_while_the_server_is_down(x_display, tmp_path, home, phrase)
    try:
        tray.process.send_signal(signal.SIGHUP)  # what a desktop session sends its processes when it ends
        assert tray.process.wait(timeout=30) == 0
    finally:
        tray.close()
    log = tray.log_text()
    assert "quit took" in log, log[-3000:]
    (kept,) = (home / "state").rglob("untranscribed/*.wav")
    assert f"their audio is kept in {kept}" in log and kept.stat().st_size >= 2 * len(phrase.audio)
    assert held_audio(home) == {}, "saved as WAV and still held: the next start would keep it twice"
