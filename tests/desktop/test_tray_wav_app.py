"""`python -m tray_client --input-wav FILE` runs the whole tray app fed by the recording (not the headless
mode): the icon docks, the text reaches the focused Tk window, the tooltip shows the end-of-speech -> typed
time, and every final lands in the history with what was typed (CJK included)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray

pytestmark = [pytest.mark.desktop]


def test_input_wav_runs_the_tray_and_records_history(x_display, tk_target, speech, tmp_path):
    english, mandarin = known(speech.english, 0), known(speech.mandarin, 0)
    wav = compose(tmp_path / "two.wav", [silence(2.0), english.audio, silence(1.2), mandarin.audio, silence(1.5)])
    home = tmp_path / "home"
    with ScriptedServer([english, mandarin]) as server:
        tray = start_tray(x_display, home, "--server", server.url, "--input-wav", str(wav),
                          "--start-listening", as_module=True)
        try:
            tray.find_icon()
            tk_target.focus()
            expected = f"{english.text} {mandarin.text}"
            assert tk_target.wait_for_text(expected, 60) == expected
            # The tooltip shows the last end-of-speech -> typed time once the history has it.
            assert wait_for(lambda: "\nLatency: " in tray.title(), 60), tray.title()
            tray.quit()
        finally:
            tray.close()
    assert "headless" not in tray.log_text()

    listed = subprocess.run([sys.executable, "-m", "tray_client", "history", "--json"], env=tray.env,
                            capture_output=True, timeout=60, text=True, encoding="utf-8")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["text"] for row in rows] == [mandarin.text, english.text]
    assert {row["output"] for row in rows} == {"type"}
    assert {row["target_app"] for row in rows} == {"Tk"}  # the focused Tk window's WM_CLASS
    # Real-time input: the latency is known and at least the silence that ended the utterance (400 ms).
    for row in rows:
        assert 0.4 <= row["latency_s"] < 10, row
        assert abs(row["silence_s"] + row["server_s"] + row["typing_s"] - row["latency_s"]) < 0.01, row
