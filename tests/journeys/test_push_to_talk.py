"""A user's story: push-to-talk mode with listening on (--start-listening, as the README's first steps say).
They speak a sentence with no key held, hold the push-to-talk key over the next one, let go, and speak a third:
only the held sentence appears in their window (the VAD typed the other two before)."""

from __future__ import annotations

import time

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from dictation_devtools.speech import SAMPLE_RATE
from tests.desktop.test_tray_e2e import QUIT_WALL_LIMIT_S, WavClock, compose, known, silence
from tests.desktop.tray_harness import start_tray
from tray_client.events import ClientState

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]


def test_push_to_talk_types_only_what_was_said_while_the_key_was_held(x_display, tk_target, speech, tmp_path):
    phrases = [known(speech.english, index) for index in range(3)]
    lead, gap = 1.5, 3.5
    parts, starts, ends, cursor = [silence(lead)], [], [], lead
    for phrase in phrases:
        starts.append(cursor)
        cursor += len(phrase.audio) / SAMPLE_RATE
        ends.append(cursor)
        parts += [phrase.audio, silence(gap)]
        cursor += gap
    wav = compose(tmp_path / "ptt.wav", parts)

    with ScriptedServer(phrases) as server:
        tray = start_tray(x_display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--mode", "ptt", "--start-listening", "--hotkey-push-to-talk", "<cmd>+p",
                          "--hotkey-toggle", "<cmd>+t")
        try:
            tray.find_icon()
            tray.wait_state(ClientState.LISTENING, 60)  # the WAV "mic" plays from now on
            clock = WavClock(time.monotonic())
            clock.sleep_until(ends[0] + gap / 2)  # phrase 1 was spoken with no key held
            pressed = time.monotonic()
            tray.key_down("super+p")
            tray.wait_state(ClientState.SPEECH, 5)
            onset = tray.utterance_start_s("manual")
            assert ends[0] < onset < starts[1], f"the key went down at {onset:.2f} s of the WAV, not in the gap"
            clock.anchor(pressed, onset)
            clock.sleep_until(ends[1] + gap / 2)
            tray.key_up("p")
            tray.key_up("super")
            assert tk_target.wait_for_text(phrases[1].text, 20) == phrases[1].text
            tray.wait_state(ClientState.OFF, ends[2] - clock.now() + 20)  # phrase 3 played to the end of the WAV
            assert tk_target.text() == phrases[1].text
            assert "started (vad)" not in tray.log_text()
            assert tray.quit() < QUIT_WALL_LIMIT_S
        finally:
            tray.close()
