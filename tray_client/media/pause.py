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
    """The system's media players, by an id that stays the same while the player runs."""

    def playing(self) -> list[str]:
        """The players playing now."""
        ...

    def status(self, player: str) -> str:
        """"Playing", "Paused", "Stopped", or "" when the player is gone."""
        ...

    def pause(self, player: str) -> None: ...

    def play(self, player: str) -> None: ...


class PausedNote:
    """The players paused and not yet resumed, in a small JSON file (it survives a crash)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, players: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"paused": players}), encoding="utf-8")
        temporary.replace(self.path)

    def load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            log.warning("the note of paused media %s is unreadable (%s); nothing is resumed from it", self.path,
                        error)
            return []
        players = data.get("paused", []) if isinstance(data, dict) else []
        return [player for player in players if isinstance(player, str)]

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class MediaPause:
    """Speech started: pause what plays; speech ended: play again what we paused (one thread calls it)."""

    def __init__(self, players: Players, note: PausedNote) -> None:
        self._players = players
        self._note = note
        self._paused: list[str] = []

    @property
    def paused(self) -> tuple[str, ...]:
        return tuple(self._paused)

    def speech_started(self) -> None:
        if self._paused:
            return
        playing = self._players.playing()
        if not playing:
            return
        self._note.save(playing)  # first: a crash between the pause and the note would leave them paused
        for player in playing:
            try:
                self._players.pause(player)
                self._paused.append(player)
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
        self._paused = []
        self._note.clear()

    def recover(self) -> None:
        """At start: play again what a run that ended mid-utterance left paused."""
        left = self._note.load()
        if left:
            log.info("resuming media a previous run paused and did not resume: %s", ", ".join(left))
            self._resume(left)
        self._note.clear()

    def _resume(self, players: list[str]) -> None:
        for player in players:
            try:
                status = self._players.status(player)
                if status == "Paused":
                    self._players.play(player)
                else:  # stopped, started or closed by the user meanwhile: theirs to decide
                    log.info("not resuming %s: it is %s now", player, status or "gone")
            except Exception as error:
                log.warning("could not resume %s: %s", player, error)
