"""A user leaves the app listening all day in a quiet room, then speaks: the app wakes for the sentence and types
it whole, first syllable included.

Started as a user does (`python -m tray_client`, overlay on, listening on from the start), fed by a "microphone"
that hears the room's noise floor (-50 dBFS, never digital zero) for a while before the sentence. Since issue 22
the app takes its audio in 128 ms blocks and scores them in one hand-off to Silero; the onset is found up to one
block later and the pre-roll must still carry the words' start: the editor's text is what proves it. Since then
the noise floor is held back unscored while nobody speaks (the energy gate, on by default) and scored only when sound
rises, at most the last 8.2 s of it: 12 s of room noise makes the app drop the oldest unscored, and the sentence
must still come out whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dictation_devtools.scripted_server import KnownPhrase, ScriptedServer
from dictation_devtools.servers import free_port
from dictation_devtools.speech import SAMPLE_RATE, write_wav
from dictation_devtools.user_desktop import UserDesktop
from tests.desktop.tray_harness import start_tray
from tray_client.events import ClientState

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]


def _room(samples: int, dbfs: float = -50.0) -> np.ndarray:
    rms = 32768.0 * 10 ** (dbfs / 20)
    return np.random.default_rng(7).normal(0.0, rms, samples)


@pytest.mark.parametrize("quiet_s", [8.0, 12.0])
def test_after_a_long_quiet_stretch_the_first_sentence_is_typed_whole(
    user_desktop: UserDesktop, speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet_s: float
):
    quiet, gap = int(quiet_s * SAMPLE_RATE), int(1.5 * SAMPLE_RATE)
    phrases = [speech.english.phrase_audio(0), speech.english.phrase_audio(1)]
    clean = np.concatenate([np.zeros(quiet), phrases[0], np.zeros(gap), phrases[1], np.zeros(gap)])
    heard = (clean + _room(len(clean))).round().clip(-32768, 32767).astype(np.int16)
    # The server knows each sentence as the mic heard it (noise included), so a clipped onset would not match.
    starts = [quiet, quiet + len(phrases[0]) + gap]
    known = [KnownPhrase(speech.english.phrases[i].text, heard[starts[i]:starts[i] + len(phrases[i])])
             for i in range(2)]
    wav = write_wav(tmp_path / "mic.wav", heard)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", user_desktop.bus_address)
    editor = user_desktop.open_target(tmp_path / "editor")
    port = free_port()
    with ScriptedServer(known, final_delay_s=0.3, port=port):
        tray = start_tray(user_desktop.display, tmp_path / "home", "--server", f"ws://127.0.0.1:{port}",
                          "--input-wav", str(wav), "--start-listening", as_module=True)
        try:
            tray.find_icon()
            editor.focus()
            expected = f"{known[0].text} {known[1].text}"
            assert editor.wait_for_text(expected, 90) == expected
            assert editor.settled_text() == expected  # nothing more, nothing twice
            assert tray.state() in (ClientState.LISTENING, ClientState.OFF)  # the file ended: back to waiting
            assert tray.quit(30) < 30
        finally:
            tray.close()
