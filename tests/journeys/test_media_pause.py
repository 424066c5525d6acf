"""A user's story: music plays (an MPRIS player on the session bus) while they dictate with pause_media on. It
pauses while they speak and plays again once they stop; a second player they had paused themselves is never
touched. The app is then killed in the middle of an utterance (the music stays paused); at the next start the
app plays it again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray
from tests.journeys._linux_tray_support import session_bus
from tray_client.events import ClientState

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]
__all__ = ["session_bus"]  # the fixture, used by name


def _player(bus: str, name: str, status: str, calls: Path) -> subprocess.Popen:
    player = subprocess.Popen([sys.executable, "-m", "dictation_devtools.fake_mpris", name, status, str(calls)],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus})
    assert player.stdout is not None and player.stdout.readline().strip() == "ready"
    return player


def _calls(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_music_pauses_while_you_speak_and_plays_again_even_after_a_crash(
        x_display, tk_target, speech, session_bus, tmp_path):
    first, second = known(speech.english, 0), known(speech.english, 1)
    wav = compose(tmp_path / "media.wav", [silence(1.5), first.audio, silence(5.0), second.audio, silence(8.0)])
    music_calls, podcast_calls = tmp_path / "music.calls", tmp_path / "podcast.calls"
    music = _player(session_bus, "music", "Playing", music_calls)
    podcast = _player(session_bus, "podcast", "Paused", podcast_calls)
    home = tmp_path / "home"
    flags = ("--pause-media", "--start-listening")
    bus_env = {"DBUS_SESSION_BUS_ADDRESS": session_bus}
    try:
        with ScriptedServer([first, second]) as server:
            tray = start_tray(x_display, home, "--server", server.url, "--input-wav", str(wav), *flags,
                              extra_env=bus_env)
            try:
                tray.find_icon()
                tray.wait_state(ClientState.SPEECH, 60)
                assert wait_for(lambda: _calls(music_calls) == ["Pause"], 10), tray.log_text()[-3000:]
                assert tk_target.wait_for_text(first.text, 40) == first.text
                assert wait_for(lambda: _calls(music_calls) == ["Pause", "Play"], 10), tray.log_text()[-3000:]

                assert wait_for(lambda: _calls(music_calls) == ["Pause", "Play", "Pause"], 40), \
                    tray.log_text()[-3000:]
                tray.process.kill()  # dies mid-utterance: nothing of ours runs to play the music again
                tray.process.wait(10)
            finally:
                tray.close()
        assert _calls(music_calls) == ["Pause", "Play", "Pause"]

        restart_wav = compose(tmp_path / "quiet.wav", [silence(3.0)])
        again = start_tray(x_display, home, "--server", "ws://127.0.0.1:9", "--input-wav", str(restart_wav),
                           *flags, extra_env=bus_env)
        try:
            assert wait_for(lambda: _calls(music_calls) == ["Pause", "Play", "Pause", "Play"], 60), \
                again.log_text()[-3000:]
            assert "resuming media a previous run paused" in again.log_text()
        finally:
            again.close()
        assert _calls(podcast_calls) == []  # the player the user had paused was never asked anything
    finally:
        for player in (music, podcast):
            player.kill()
            player.wait(10)
