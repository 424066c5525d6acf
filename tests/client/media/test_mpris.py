"""The MPRIS players over a real session bus: a private dbus-daemon and a fake player that is a real D-Bus
service (dictation_devtools.fake_mpris), so our jeepney calls are what is tested."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.journeys._linux_tray_support import session_bus

pytestmark = [pytest.mark.slow]
__all__ = ["session_bus"]  # the fixture, used by name


@pytest.fixture
def bus(session_bus: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    return session_bus


def start_player(name: str, status: str, calls: Path) -> subprocess.Popen:
    player = subprocess.Popen([sys.executable, "-m", "dictation_devtools.fake_mpris", name, status, str(calls)],
                              stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert player.stdout is not None and player.stdout.readline().strip() == "ready"
    return player


def test_playing_players_are_found_paused_and_played_again(bus, tmp_path):
    from tray_client.media._mpris import MprisPlayers

    music = start_player("music", "Playing", tmp_path / "music.calls")
    podcast = start_player("podcast", "Paused", tmp_path / "podcast.calls")
    try:
        players = MprisPlayers()
        assert players.playing() == ["org.mpris.MediaPlayer2.music"]
        players.pause("org.mpris.MediaPlayer2.music")
        assert players.status("org.mpris.MediaPlayer2.music") == "Paused"
        players.play("org.mpris.MediaPlayer2.music")
        assert players.status("org.mpris.MediaPlayer2.music") == "Playing"
        assert players.status("org.mpris.MediaPlayer2.gone") == ""
        assert (tmp_path / "music.calls").read_text().split() == ["Pause", "Play"]
        assert not (tmp_path / "podcast.calls").exists()  # never touched
        players.close()
    finally:
        for player in (music, podcast):
            player.kill()
            player.wait(10)
