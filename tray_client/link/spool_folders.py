"""Each running client's own spool folder, and the audio that a client which died left in its folder.

Why a folder per process, each with a lock held while the client runs: a tray app and a headless run may share one
log directory. At the next start, a folder whose lock is free belongs to a client that is gone (it crashed, was
killed, or the PC lost power), while a folder whose lock is held belongs to a live client and is left alone. The
operating system drops the lock when a process dies, however it dies, so a crash cannot leave a stale "live" mark.

Why the leftovers are kept: audio spooled to disk is an utterance still waiting for its final, i.e. the user's
words. It becomes a WAV file beside the other untranscribed audio, and the user is told where (the WAVs can be
transcribed later through the server's `POST /v1/audio/transcriptions`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["SpoolFolder", "recover_leftovers"]

log = logging.getLogger(__name__)

SAMPLE_BYTES = 2  # 16 kHz mono int16, as link/journal.py writes it
SaveAudio = Callable[[str, bytes], "Path | None"]
"""Keep one utterance's audio (id, 16 kHz mono int16 PCM); returns where it went, or None if it could not."""


class SpoolFolder:
    """This process's spool folder under `root`, locked until `release` (or until the process ends)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = root / name
        self._lock: FileLock | None = FileLock(root / f"{name}.lock", timeout=0)
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except (OSError, Timeout) as error:
            # Spooling still works without the lock; only a later start could mistake the folder for a leftover
            # while this client runs, so say so.
            log.warning("could not lock the spool folder %s (%s); audio is still kept", self.path, error)
            self._lock = None

    def release(self) -> None:
        """The client stops: drop the folder if it is empty (the link forgets each utterance's file) and unlock."""
        with contextlib.suppress(OSError):
            self.path.rmdir()  # not empty: files of utterances still pending, recovered at the next start
        if self._lock is not None:
            _release_and_remove(self._lock)
            self._lock = None


def recover_leftovers(root: Path, save: SaveAudio) -> list[Path]:
    """Keep the audio that clients which are gone left under `root` (see the module doc); return the files made.

    Also takes `*.pcm` lying directly in `root`, where clients before per-process folders spooled."""
    saved: list[Path] = []
    if not root.is_dir():
        return saved
    saved += _save_each(sorted(root.glob("*.pcm")), save)
    # Every client leaves a lock file, and a folder only if it spooled: most crashed runs left a lock alone.
    names = {path.stem for path in root.glob("*.lock")} | {path.name for path in root.iterdir() if path.is_dir()}
    for name in sorted(names):
        lock = FileLock(root / f"{name}.lock", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            continue  # a live client's folder
        except OSError as error:
            log.warning("could not check the spool folder %s (%s); left as it is", root / name, error)
            continue
        try:
            folder = root / name
            if folder.is_dir():
                saved += _save_each(sorted(folder.glob("*.pcm")), save)
                with contextlib.suppress(OSError):
                    folder.rmdir()
        finally:
            _release_and_remove(lock)
    return saved


def _release_and_remove(lock: FileLock) -> None:
    """Unlock, then delete the lock file (filelock keeps it on POSIX). Names are never reused, so a client that
    opened the file meanwhile only finds it free, which is what it is."""
    lock.release()
    with contextlib.suppress(OSError):
        Path(lock.lock_file).unlink(missing_ok=True)


def _save_each(files: list[Path], save: SaveAudio) -> list[Path]:
    saved = []
    for file in files:
        try:
            audio = file.read_bytes()
            # A write-ahead file cut by a kill or a power cut may end inside a sample: keep every whole one.
            path = save(file.stem, audio[: len(audio) - len(audio) % SAMPLE_BYTES])
        except OSError:
            log.exception("could not read the leftover audio %s; left where it is", file)
            continue
        if path is not None:  # kept elsewhere: only now may the spooled copy go
            saved.append(path)
            with contextlib.suppress(OSError):
                file.unlink()
    return saved
