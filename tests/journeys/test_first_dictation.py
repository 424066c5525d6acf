"""A new user's first minutes: start the app as a user does (`python -m tray_client`, nothing installed by hand,
a private config), turn listening on with a click on the tray icon, say a sentence in English and one in Chinese
into their editor, look at the history, quit. What is checked is what the user sees: the editor's text, the
notifications on their desktop, the history listing, and the app leaving cleanly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dictation_devtools.scripted_server import KnownPhrase
from dictation_devtools.speech import SAMPLE_RATE, write_wav
from dictation_devtools.user_desktop import UserDesktop
from tests.desktop.tray_harness import REPO_ROOT
from tests.journeys._linux_tray_support import listening_tray

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


def test_first_dictation_in_english_and_chinese_lands_in_the_editor_and_the_history(
    user_desktop: UserDesktop, speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    english = KnownPhrase(speech.english.phrases[0].text, speech.english.phrase_audio(0))
    mandarin = KnownPhrase(speech.mandarin.phrases[0].text, speech.mandarin.phrase_audio(0))
    # The "microphone": the user is quiet while they find the icon, then says both sentences.
    wav = write_wav(tmp_path / "mic.wav", np.concatenate([_silence(3.0), english.audio, _silence(1.2),
                                                          mandarin.audio, _silence(0.6)]))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", user_desktop.bus_address)  # the app's notices reach dunst
    editor = user_desktop.open_target(tmp_path / "editor")
    home = tmp_path / "home"
    with listening_tray(user_desktop.display, home, [english, mandarin], wav) as tray:
        tray.click()  # Listening on, as the README says: a left click
        editor.focus()  # the click went to the tray: the user clicks back into their editor
        expected = f"{english.text} {mandarin.text}"
        assert editor.wait_for_text(expected, 60) == expected
        assert editor.settled_text() == expected  # nothing more, nothing twice
        history = subprocess.run([sys.executable, "-m", "tray_client", "history", "--json"], env=tray.env,
                                 cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert history.returncode == 0, history.stderr
        entries = json.loads(history.stdout)
        assert [entry["text"] for entry in reversed(entries)] == [english.text, mandarin.text]
        assert all(entry["target_app"] for entry in entries), entries  # where each went is recorded
        # A working first run shows no problem to fix: no error notification at all.
        assert [n for n in user_desktop.notifications() if "Cannot reach" in n.body or "error" in n.body.lower()] \
            == []
        assert tray.quit(30) < 30
    assert "quit" in tray.log_text().lower()
