"""The History page's audio: each entry's kept audio (played back, re-transcribed) and the recordings that wait for
a transcript (a crash's or a down server's, with a Transcribe button). The files are tray_client/keep.py's.

Re-transcribing sends the audio to the server's `POST /v1/audio/transcriptions` (as `python -m tray_client
untranscribed --transcribe` does) and shows the words through the user's text rules; the entry stays as it was
(the user copies or types the new text). Transcribing a waiting recording moves it to `transcribed/` and adds its
words to the history, marked recovered (offered, never typed: its window is long gone).

The blocking calls (`transcribe`, `transcribe_recovered`: an upload takes seconds) run in the server's executor;
the rest is quick file work on the server's loop thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tray_client.config import ClientConfig
from tray_client.history.store import HistoryEntry
from tray_client.keep import Kept, KeptAudio, wav_bytes
from tray_client.untranscribed import (
    Transcribed,
    TranscribeError,
    transcribe_audio,
    transcribe_wav,
    transcriptions_url,
)
from tray_client.webapp.history_page import iso_time

__all__ = ["AudioApi", "AudioError"]


class AudioError(Exception):
    """A request about audio that cannot be met: `status` (404 none kept, 502 the server failed) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class AudioApi:
    """Kept and waiting audio for the pages (see the module doc)."""

    kept: Kept
    config: Callable[[], ClientConfig]

    def _audio(self) -> KeptAudio:
        return KeptAudio(self.kept.audio, lambda: self.config().keep_audio_days)

    def kept_ids(self) -> set[str]:
        """The utterance ids whose audio is kept (the History page shows a player for them)."""
        return self._audio().ids()

    def entry_wav(self, entry: HistoryEntry) -> bytes:
        path = self._audio().find(entry.utterance_id)
        if path is None:
            raise AudioError(404, "no audio is kept for this entry: set keep_audio_days (Settings, Privacy and "
                                  "history) to keep the audio of the next dictations")
        return wav_bytes(path.read_bytes())

    def forget(self, entry: HistoryEntry) -> None:
        """The entry was deleted: its audio goes too."""
        self._audio().forget(entry.utterance_id)

    def transcribe(self, name: str, wav: bytes) -> dict[str, object]:
        """Blocking: the words the server hears in `wav` now, through the user's text rules."""
        config = self.config()
        try:
            heard = transcribe_audio(name, wav, transcriptions_url(config.server), config.token, config)
        except TranscribeError as error:
            raise AudioError(502, str(error)) from error
        return {"text": heard.text, "raw": heard.raw, "language": heard.language, "audio_s": heard.audio_s}

    def recovered(self) -> dict[str, object]:
        """The recordings waiting for a transcript, oldest first."""
        items = []
        for path in self.kept.recovered():
            try:
                stat = path.stat()
            except OSError:
                continue
            items.append({"name": path.name, "time": stat.st_mtime, "iso_time": iso_time(stat.st_mtime),
                          "audio_s": round(max(0, stat.st_size - 44) / 32000, 2)})
        return {"recordings": items, "folder": str(self.kept.untranscribed)}

    def recovered_file(self, name: str) -> Path:
        try:
            return self.kept.recovered_file(name)
        except ValueError as error:
            raise AudioError(404, str(error)) from error

    def transcribe_recovered(self, name: str) -> Transcribed:
        """Blocking: transcribe a waiting recording (it moves to transcribed/; the caller adds the history row)."""
        path = self.recovered_file(name)
        config = self.config()
        try:
            return transcribe_wav(path, transcriptions_url(config.server), config.token, config)
        except (TranscribeError, OSError) as error:
            raise AudioError(502, str(error)) from error
