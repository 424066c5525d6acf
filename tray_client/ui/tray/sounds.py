"""Short start/stop chimes: the user hears that dictation began or ended without looking at the tray.

The chimes are synthesised here (pure numpy), written to `assets/sounds/` by `scripts/make_assets.py`, and
played without blocking the caller: `winsound` with SND_ASYNC on Windows, `paplay`/`aplay` as a child process
on Linux. Where no player exists the sound is skipped and logged at debug level, never raised: a missing chime
must not break dictation.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from tray_client.ui.tray.icons import assets_dir

__all__ = ["SOUND_NAMES", "SoundPlayer", "render_chime", "sound_path"]

log = logging.getLogger(__name__)

SOUND_NAMES = ("start", "stop")
SAMPLE_RATE = 22_050
NOTE_S = 0.07
"""Each chime is two notes of 70 ms: short enough not to annoy all day, long enough to hear."""

_NOTES_HZ = {"start": (660.0, 990.0), "stop": (990.0, 660.0)}  # rising = on, falling = off
_LINUX_PLAYERS = (("paplay",), ("aplay", "-q"))


def render_chime(name: str, volume: float = 0.35) -> bytes:
    """The WAV bytes of chime `name` ("start" rises, "stop" falls), mono 16-bit."""
    if name not in _NOTES_HZ:
        raise ValueError(f"unknown sound {name!r}; choose one of {', '.join(SOUND_NAMES)}")
    import numpy as np  # here, not at the top: the tray icon shows before numpy's import (0.2 s or more)

    t = np.arange(int(NOTE_S * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.minimum(1.0, np.minimum(t, NOTE_S - t) / 0.008)  # 8 ms ramps: no clicks
    notes = [np.sin(2 * np.pi * hz * t) * envelope for hz in _NOTES_HZ[name]]
    samples = (np.concatenate(notes) * volume * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return buffer.getvalue()


def sound_path(name: str, base: Path | None = None) -> Path:
    """Where make_assets.py writes chime `name`."""
    return (base or assets_dir()) / "sounds" / f"{name}.wav"


class SoundPlayer:
    """Plays the chimes without blocking; `enabled` mirrors the `sounds` setting and may change at any time."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._fallback_dir: Path | None = None
        self._children: list[subprocess.Popen[bytes]] = []

    def play(self, name: str) -> None:
        """Start playing chime `name` and return at once."""
        if not self.enabled:
            return
        path = self._file_for(name)
        if sys.platform == "win32":
            _play_winsound(path)
            return
        self._reap()
        command = _linux_player_command(path)
        if command is None:
            log.debug("no sound player (paplay or aplay) found; skipping the %s chime", name)
            return
        try:
            self._children.append(
                subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            )
        except OSError as error:
            log.debug("could not play the %s chime with %s: %s", name, command[0], error)

    def close(self) -> None:
        """Stop any chime still playing (at quit)."""
        for child in self._children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=1)
        self._children.clear()

    def _reap(self) -> None:
        self._children = [child for child in self._children if child.poll() is None]

    def _file_for(self, name: str) -> Path:
        path = sound_path(name)
        if path.is_file():
            return path
        if self._fallback_dir is None:
            self._fallback_dir = Path(tempfile.mkdtemp(prefix="dictation-sounds-"))
        fallback = self._fallback_dir / f"{name}.wav"
        if not fallback.exists():
            fallback.write_bytes(render_chime(name))
        return fallback


def _linux_player_command(path: Path) -> list[str] | None:
    for player, *options in _LINUX_PLAYERS:
        if shutil.which(player):
            return [player, *options, str(path)]
    return None


def _play_winsound(path: Path) -> None:
    import winsound  # Windows only

    try:
        winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC | winsound.SND_NODEFAULT)
    except RuntimeError as error:
        log.debug("winsound could not play %s: %s", path, error)
