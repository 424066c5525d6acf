"""The media pause's rule: pause what plays, resume exactly that if still paused, and a note that undoes a crash."""

from __future__ import annotations

from tray_client.media.pause import MediaPause, PausedNote


class FakePlayers:
    def __init__(self, **statuses: str) -> None:
        self.statuses = dict(statuses)
        self.calls: list[tuple[str, str]] = []

    def playing(self) -> list[str]:
        return [name for name, status in self.statuses.items() if status == "Playing"]

    def token(self, player: str) -> str:
        return f"was {self.statuses[player]}"

    def status(self, player: str, token: str) -> str:
        assert token == "was Playing"
        return self.statuses.get(player, "")

    def pause(self, player: str, token: str) -> None:
        self.calls.append(("pause", player))
        self.statuses[player] = "Paused"

    def play(self, player: str, token: str) -> None:
        self.calls.append(("play", player))
        self.statuses[player] = "Playing"


def test_only_what_played_is_paused_and_only_that_is_played_again(tmp_path):
    players = FakePlayers(music="Playing", podcast="Paused", video="Stopped")
    pause = MediaPause(players, PausedNote(tmp_path / "note.json"))
    pause.speech_started()
    assert players.calls == [("pause", "music")]
    assert PausedNote(tmp_path / "note.json").load() == {"music": "was Playing"}
    pause.speech_started()  # still speaking: nothing more
    pause.speech_ended()
    assert players.calls == [("pause", "music"), ("play", "music")]
    assert players.statuses == {"music": "Playing", "podcast": "Paused", "video": "Stopped"}
    assert not (tmp_path / "note.json").exists()


def test_a_player_the_user_stopped_or_closed_meanwhile_is_left_alone(tmp_path):
    players = FakePlayers(music="Playing", video="Playing")
    pause = MediaPause(players, PausedNote(tmp_path / "note.json"))
    pause.speech_started()
    players.statuses["music"] = "Stopped"
    del players.statuses["video"]
    pause.speech_ended()
    assert ("play", "music") not in players.calls and ("play", "video") not in players.calls


def test_a_crash_mid_utterance_is_undone_at_the_next_start(tmp_path):
    note = tmp_path / "note.json"
    players = FakePlayers(music="Playing")
    MediaPause(players, PausedNote(note)).speech_started()  # the app dies here
    assert players.statuses["music"] == "Paused"
    MediaPause(players, PausedNote(note)).recover()
    assert players.statuses["music"] == "Playing" and not note.exists()


def test_an_unreadable_note_resumes_nothing_and_is_cleared(tmp_path):
    note = tmp_path / "note.json"
    note.write_text("{not json")
    players = FakePlayers(music="Paused")
    MediaPause(players, PausedNote(note)).recover()
    assert players.calls == [] and not note.exists()
