"""The Windows port of the media pause: audio sessions turned down to a fifth and back, exactly. Core Audio
cannot run here (Wine has no audio endpoint on this machine: GetDefaultAudioEndpoint answers "Element not
found"), so the sessions are stand-ins with pycaw's surface: ProcessId, State, SimpleAudioVolume."""

from __future__ import annotations

from dataclasses import dataclass, field

from tray_client.media._win32_duck import SessionVolumes
from tray_client.media.pause import MediaPause, PausedNote


@dataclass
class Volume:
    level: float

    def GetMasterVolume(self) -> float:
        return self.level

    def SetMasterVolume(self, level: float, context: object) -> None:
        self.level = float(f"{level:.6f}")  # a float32 in Windows: not exactly what was set


@dataclass
class Session:
    ProcessId: int
    State: int  # 1 active, 0 inactive
    SimpleAudioVolume: Volume = field(default_factory=lambda: Volume(1.0))


def test_active_sessions_of_other_apps_are_turned_down_and_back_exactly(tmp_path):
    music = Session(100, 1, Volume(0.8))
    idle = Session(200, 0, Volume(0.5))
    ours = Session(300, 1, Volume(1.0))
    system = Session(0, 1, Volume(1.0))
    sessions = [music, idle, ours, system]
    pause = MediaPause(SessionVolumes(lambda: sessions, own_pid=300), PausedNote(tmp_path / "note.json"))
    pause.speech_started()
    assert abs(music.SimpleAudioVolume.level - 0.16) < 1e-6
    assert (idle.SimpleAudioVolume.level, ours.SimpleAudioVolume.level, system.SimpleAudioVolume.level) == \
        (0.5, 1.0, 1.0)
    assert PausedNote(tmp_path / "note.json").load() == {"pid:100": "0.8000/0.1600"}
    pause.speech_ended()
    assert music.SimpleAudioVolume.level == 0.8


def test_a_volume_the_user_changed_meanwhile_is_kept_and_a_crash_is_undone_at_start(tmp_path):
    music, video = Session(100, 1, Volume(0.8)), Session(101, 1, Volume(0.6))
    players = SessionVolumes(lambda: [music, video], own_pid=1)
    pause = MediaPause(players, PausedNote(tmp_path / "note.json"))
    pause.speech_started()
    video.SimpleAudioVolume.level = 0.9  # the user turned the video up while speaking
    pause.speech_ended()
    assert (music.SimpleAudioVolume.level, video.SimpleAudioVolume.level) == (0.8, 0.9)

    MediaPause(players, PausedNote(tmp_path / "note.json")).speech_started()  # and the app dies here
    assert music.SimpleAudioVolume.level < 0.2
    MediaPause(SessionVolumes(lambda: [music, video], own_pid=2), PausedNote(tmp_path / "note.json")).recover()
    assert (music.SimpleAudioVolume.level, video.SimpleAudioVolume.level) == (0.8, 0.9)
