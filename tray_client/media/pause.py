"""Pure: which players to pause when speech starts and to play again when it ends, with a note on disk.

Restores exactly what it changed: only players that were playing are paused, and only those, if they are still
paused (the user did not stop or start them meanwhile), are played again. The note of what was paused is
written before the first pause, so that if the app dies mid-utterance the next start plays them again
(`recover`), and cleared once they were resumed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

__all__ = ["MediaPause", "PausedNote", "Players"]

log = logging.getLogger(__name__)


class Players(Protocol):
    """The system's media players, by an id that stays the same while the player runs.

    `token` says what pausing will change (the volume a port that ducks turns down from; "" for one that pauses);
    it is noted before the pause, and `status` and `play` get it back, also from the note after a crash."""

    def playing(self) -> list[str]:
        """The players playing now."""
        ...

    def token(self, player: str) -> str: ...

    def pause(self, player: str, token: str) -> None: ...

    def status(self, player: str, token: str) -> str:
        """"Paused" while the player is as `pause` left it; else how it is ("Playing", "Stopped"...), or ""
        when the player is gone."""
        ...

    def play(self, player: str, token: str) -> None: ...


class PausedNote:
    """The players paused and not yet resumed, in a small JSON file (it survives a crash)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, players: dict[str, str]) -> None:
        """`players`: each paused player's token (see Players.pause)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"paused": players}), encoding="utf-8")
        temporary.replace(self.path)

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("the note of paused media %s is unreadable (%s); nothing is resumed from it", self.path,
                        error)
            return {}
        players = data.get("paused", {}) if isinstance(data, dict) else {}
        if not isinstance(players, dict):
            return {}
        return {player: token for player, token in players.items() if isinstance(token, str)}

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class MediaPause:
    """Speech started: pause what plays; speech ended: play again what we paused (one thread calls it)."""

    def __init__(self, players: Players, note: PausedNote) -> None:
        self._players = players
        self._note = note
        self._paused: dict[str, str] = {}

    @property
    def paused(self) -> tuple[str, ...]:
        return tuple(self._paused)

    def speech_started(self) -> None:
        if self._paused:
            return
        playing = self._players.playing()
        if not playing:
            return
        for player in playing:
            try:
                token = self._players.token(player)
                self._note.save({**self._paused, player: token})  # first: a crash right after the pause is undone
                self._players.pause(player, token)
                self._paused[player] = token
            except Exception as error:
                log.warning("could not pause %s: %s", player, error)
        if self._paused:
            self._note.save(self._paused)
        else:
            self._note.clear()
        log.info("paused while you speak: %s", ", ".join(self._paused) or "nothing")

    def speech_ended(self) -> None:
        if not self._paused:
            return
        self._resume(self._paused)
        self._paused = {}
        self._note.clear()

    def recover(self) -> None:
        """At start: play again what a run that ended mid-utterance left paused."""
        left = self._note.load()
        if left:
            log.info("resuming media a previous run paused and did not resume: %s", ", ".join(left))
            self._resume(left)
        self._note.clear()

    def _resume(self, players: dict[str, str]) -> None:
        for player, token in players.items():
            try:
                status = self._players.status(player, token)
                if status == "Paused":
                    self._players.play(player, token)
                else:  # stopped, started or closed by the user meanwhile: theirs to decide
                    log.info("not resuming %s: it is %s now", player, status or "gone")
            except Exception as error:
                log.warning("could not resume %s: %s", player, error)
