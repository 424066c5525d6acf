"""Signing out of Windows with words held for a down server: the app says yes to the end of the session, saves
the audio as a WAV, logs its quit line, and only then lets Windows end it (issue 17, point 1).

The agent sends what Windows sends at sign-out (WM_QUERYENDSESSION, then WM_ENDSESSION) to the app's tray window;
the real `python -m tray_client` handles it in pystray's window procedure.
"""

from __future__ import annotations

import pytest

from dictation_devtools.servers import free_port
from dictation_devtools.wine.harness import poll
from tray_client.ui.tray.app import APP_ID

pytestmark = [pytest.mark.journey, pytest.mark.slow]


def test_a_sign_out_with_audio_held_for_a_down_server_saves_it_and_logs_the_quit(start_tray, agent, phrases,
                                                                                   wine_lane):
    logs = wine_lane.user_profile() / "AppData" / "Local" / APP_ID / "Logs"
    before = set(logs.glob("untranscribed/*.wav"))
    tray = start_tray(start_listening=True, server=f"ws://127.0.0.1:{free_port()}")  # WSL not started yet
    poll(lambda: "microphone open" in tray.text_output(), 90, what="the tray to open the microphone")
    tray.say("ascii", phrases["ascii"].audio.tobytes())
    try:
        poll(lambda: [path for path in logs.glob("spool/*/*.pcm") if path.stat().st_size >= 16_000], 60,
             what="the utterance's audio held on disk")
    except TimeoutError:
        print("TRAY OUTPUT:\n" + tray.text_output(), "\nSPOOL:", sorted(logs.glob("spool/**/*")))
        raise
    poll(lambda: " ended (" in tray.text_output(), 30, what="the utterance to end")

    answers = agent.call("end_session")  # the icon's window and pystray's menu window
    assert answers and set(answers) == {1}, f"the app must never block a sign-out: {answers}"
    poll(lambda: tray.process.poll() is not None, 30, what="the app to end with the session")
    output = tray.text_output()
    assert "the session is ending (sign-out)" in output and "quit took" in output, output[-3000:]
    (kept,) = set(logs.glob("untranscribed/*.wav")) - before
    assert kept.stat().st_size >= 2 * len(phrases["ascii"].audio)
    assert "their audio is kept in C:" in output and kept.name in output
    assert not list(logs.glob("spool/*/*.pcm")), "saved as WAV and still held: the next start would keep it twice"
