"""Windows: other apps' audio sessions turned down while you speak (Core Audio through pycaw), and back after.

Why turn down and not pause: the system media transport controls (SMTC) that pause players need WinRT
projections (winsdk), a large extra dependency, and reach only players that register with SMTC; every app that
plays sound has a Core Audio session whose volume can be set and read back exactly, so "restore exactly what
was changed" holds for all of them. A session is turned down to DUCK_TO of its volume; the token is
"original/ducked", so a session whose volume the user changed meanwhile is left as they set it.

A session is its process id ("pid:1234"): it stays the same while the app runs, so the note is still good
after our own restart. The calls run on the media-pause thread, which initialises COM for itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["DUCK_TO", "SessionVolumes"]

DUCK_TO = 0.2
"""The fraction of its volume a session keeps while you speak (about -14 dB: audible, not in the way)."""
AUDIO_SESSION_STATE_ACTIVE = 1
_SAME = 0.002  # SetMasterVolume stores a float: read back, it may differ in the last digits


def _pycaw_sessions() -> list[Any]:
    import comtypes
    from pycaw.pycaw import AudioUtilities

    comtypes.CoInitialize()  # once per thread; this is the media-pause thread's first COM call
    return AudioUtilities.GetAllSessions()


class SessionVolumes:
    """`pause.Players` for Windows audio sessions (see the module doc)."""

    def __init__(self, sessions: Callable[[], list[Any]] = _pycaw_sessions, own_pid: int | None = None) -> None:
        self._sessions = sessions
        self._own_pid = os.getpid() if own_pid is None else own_pid

    def _by_id(self) -> dict[str, Any]:
        return {f"pid:{session.ProcessId}": session for session in self._sessions()
                if session.ProcessId not in (0, self._own_pid)}  # 0: the system sounds; ours: the chimes

    def playing(self) -> list[str]:
        return sorted(player for player, session in self._by_id().items()
                      if session.State == AUDIO_SESSION_STATE_ACTIVE
                      and session.SimpleAudioVolume.GetMasterVolume() > _SAME)

    def token(self, player: str) -> str:
        volume = float(self._by_id()[player].SimpleAudioVolume.GetMasterVolume())
        return f"{volume:.4f}/{volume * DUCK_TO:.4f}"

    def pause(self, player: str, token: str) -> None:
        _original, ducked = _parse(token)
        self._by_id()[player].SimpleAudioVolume.SetMasterVolume(ducked, None)

    def status(self, player: str, token: str) -> str:
        session = self._by_id().get(player)
        if session is None:
            return ""
        _original, ducked = _parse(token)
        return "Paused" if abs(session.SimpleAudioVolume.GetMasterVolume() - ducked) < _SAME else "Changed"

    def play(self, player: str, token: str) -> None:
        original, _ducked = _parse(token)
        self._by_id()[player].SimpleAudioVolume.SetMasterVolume(original, None)


def _parse(token: str) -> tuple[float, float]:
    original, _, ducked = token.partition("/")
    return float(original), float(ducked)
