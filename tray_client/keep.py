"""What the app keeps on disk besides its settings and history, in one place: where each kind of audio lies, how
long it stays, and how a page reads it back.

Every folder is under the log folder (`config.log_path().parent`, the user's state directory), so a move between
them is a rename on one file system:

    spool/            write-ahead audio of the utterances in flight (link/journal.py, link/spool_folders.py)
    untranscribed/    WAVs of utterances that got no transcript (`save_audio`, from delivery; a crashed run's spool,
                      recovered at the next start); `transcribed/` below it once their words came back
                      (`python -m tray_client untranscribed`, whose how-to `HOW_TO_TRANSCRIBE` the notices give)
    kept-audio/       each utterance's audio after its final, `keep_audio_days` days (off by default): the
                      History page plays it back and sends it to the server again (Re-transcribe)

Why the kept audio is the write-ahead file itself: the journal already holds every utterance's audio on disk
until its final is delivered, so keeping it is a rename on the journal's own thread (`KeptAudio.keep`), not a
second copy of the audio and no work on the audio loop. Raw 16 kHz mono int16, as the journal writes it; a page
gets it as WAV (`wav_bytes`).

Why owner-only folders: this is the user's voice.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dictation_core.protocol import SAMPLE_RATE  # the journal's format: 16 kHz mono int16

__all__ = ["DAY_S", "HOW_TO_TRANSCRIBE", "Kept", "KeptAudio", "kept", "save_audio", "wav_bytes"]

log = logging.getLogger(__name__)

DAY_S = 86400.0
PRUNE_EVERY_S = 3600.0
"""Kept audio older than keep_audio_days goes at most this long after it is due (a prune lists the folder)."""
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
HOW_TO_TRANSCRIBE = "get the text later with: python -m tray_client untranscribed --transcribe"
"""What to tell the user about a recording saved without its transcript (`save_audio`)."""


@dataclass(frozen=True)
class Kept:
    """The folders of what is kept, under `root` (the log folder)."""

    root: Path

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def untranscribed(self) -> Path:
        return self.root / "untranscribed"

    @property
    def audio(self) -> Path:
        return self.root / "kept-audio"

    def recovered(self) -> list[Path]:
        """The recordings waiting for a transcript (a crash's or a down server's), oldest first."""
        try:
            return sorted(self.untranscribed.glob("*.wav"), key=lambda path: path.stat().st_mtime)
        except OSError:
            return []

    def recovered_file(self, name: str) -> Path:
        """A waiting recording by its file name; ValueError for a name that is none of them (a path, a typo)."""
        path = self.untranscribed / name
        if not _SAFE_NAME.match(name) or not name.endswith(".wav") or not path.is_file():
            raise ValueError(f"no waiting recording named {name!r} (transcribed already, or removed)")
        return path


def kept() -> Kept:
    """The folders of this user (the log folder's)."""
    from tray_client.config import log_path

    return Kept(log_path().parent)


def save_audio(utterance_id: str, audio: bytes) -> Path | None:
    """Keep an utterance that got no transcript as a WAV in `untranscribed/` (delivery, the leftovers of a run
    that died); None when it could not be written (logged)."""
    try:
        target = kept().untranscribed
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = target / f"{utterance_id}.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(audio)
        return path
    except OSError:
        log.exception("could not save the audio of %s", utterance_id)
        return None


class KeptAudio:
    """Each utterance's audio after its final, for `days()` days (read at each keep, so a change applies at once).

    `keep` runs on the journal's writer thread; `find`, `forget` and `prune` on any thread (the file system is
    the only shared state, and each call is one rename, stat or unlink)."""

    def __init__(self, folder: Path, days: Callable[[], float]) -> None:
        self.folder = folder
        self._days = days
        self._pruned_at: float | None = None
        self._lock = threading.Lock()

    def keep(self, utterance_id: str, pcm: Path) -> bool:
        """Move the utterance's write-ahead file here when audio is kept; False leaves it to the caller (who
        deletes it)."""
        days = self._days()
        self._prune_now_and_then(days)
        if days <= 0 or not _SAFE_NAME.match(utterance_id):
            return False
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(pcm, self.folder / f"{utterance_id}.pcm")
        except OSError as error:
            log.warning("could not keep the audio of %s in %s (%s); it is deleted", utterance_id, self.folder, error)
            return False
        return True

    def find(self, utterance_id: str) -> Path | None:
        """The kept audio of an utterance (a cut utterance's continuation "X.2" plays its whole "X")."""
        for name in (utterance_id, utterance_id.split(".")[0]):
            if name and _SAFE_NAME.match(name):
                path = self.folder / f"{name}.pcm"
                if path.is_file():
                    return path
        return None

    def ids(self) -> set[str]:
        """The utterance ids with kept audio."""
        try:
            return {path.stem for path in self.folder.glob("*.pcm")}
        except OSError:
            return set()

    def forget(self, utterance_id: str) -> None:
        """The user deleted the utterance from the history: its audio goes too."""
        path = self.find(utterance_id)
        if path is not None:
            path.unlink(missing_ok=True)

    def prune(self, days: float, now: float | None = None) -> int:
        """Delete kept audio older than `days` (0: all of it); how many files went."""
        cutoff = (time.time() if now is None else now) - max(0.0, days) * DAY_S
        removed = 0
        try:
            paths = list(self.folder.glob("*.pcm"))
        except OSError:
            return 0
        for path in paths:
            try:
                if days <= 0 or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError as error:
                log.warning("could not delete kept audio %s (%s)", path, error)
        if removed:
            log.info("kept audio: removed %d file(s) older than %g days", removed, days)
        return removed

    def _prune_now_and_then(self, days: float) -> None:
        with self._lock:
            now = time.monotonic()
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_S:
                return
            self._pruned_at = now
        self.prune(days)


def wav_bytes(pcm: bytes) -> bytes:
    """16 kHz mono int16 PCM as a WAV file (what a browser's <audio> and the server's upload take)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm[: len(pcm) - len(pcm) % 2])
    return out.getvalue()
