"""Write-ahead audio: every utterance's audio goes to a file from its first frame until its final is delivered.

Why: the link keeps each utterance's audio in memory until its final has been delivered (replays need it, and
memory is fast), but memory dies with the process. A `kill -9`, `taskkill /F`, a crash or a power cut while the
server is down (or before the final comes) would take the user's words with it. So each utterance's audio is also
appended, as it arrives, to `<spool folder>/<utterance id>.pcm` (raw 16 kHz mono int16, nothing else: a file cut
anywhere still holds every whole sample before the cut). The next start finds the folder of a client that is gone
(link/spool_folders.py) and keeps each file as a WAV.

Why a thread of its own: the audio path is an asyncio loop that must never wait for a disk (a slow USB stick, a
virus scanner, an fsync on a busy laptop disk). `append` only puts the bytes on a queue; the `audio-journal`
thread writes them. The writer drains everything queued before each write, so a slow disk costs fewer, larger
writes, never a stalled loop.

What survives what (the fsync policy):
- the process is killed (kill -9, taskkill /F, a crash): everything written so far, because each write is handed
  to the operating system at once (unbuffered). Only what is still queued for the writer thread is lost: the
  writer runs within milliseconds of each frame, so in practice at most the last frame (~30 ms).
- power is lost (or the OS crashes): what the OS had not yet written to the disk. Each file with new audio is
  fsynced at most every `SYNC_INTERVAL_S` (and when it goes idle, e.g. at the end of the utterance), and the spool
  folder is fsynced after a file is created, so a power cut loses at most about the last second of audio.
  A sync per second, not per frame: per-frame fsyncs would cost ~30 disk flushes a second while speaking, for
  ~30 ms less loss.
- the disk fails: the audio stays in memory (nothing is dropped from the link), the user is told once that a
  crash would now lose it, and the utterance's file is left as far as it got.

Thread map: `append`, `forget`, `discard`, `written`, `take_news` from the owner's thread (the pipeline loop);
the writer thread owns every open file. `flush` and `close` block the caller (shutdown only).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SYNC_INTERVAL_S", "AudioJournal"]

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 1.0
"""Longest time new audio stays only in the OS cache (what a power cut can lose); see the module doc."""
IDLE_CLOSE_S = 2.0
"""A file with no new audio this long is synced and closed (many utterances may wait for a down server)."""


@dataclass
class _File:
    """One utterance's open file, on the writer thread."""

    handle: io.FileIO
    dirty: bool = False  # written since the last fsync
    last_write: float = 0.0


@dataclass(frozen=True)
class _Append:
    utterance_id: str
    pcm: bytes


@dataclass(frozen=True)
class _Forget:
    utterance_id: str


@dataclass(frozen=True)
class _Flush:
    done: threading.Event
    stop: bool = False  # and then close every file and end the thread


class AudioJournal:
    """Append-only audio files by utterance id under `folder`, written on a thread of its own (see module doc)."""

    def __init__(self, folder: Path, *, sync_interval_s: float = SYNC_INTERVAL_S,
                 keep: Callable[[str, Path], bool] | None = None) -> None:
        """`keep(utterance_id, path)`: offered each done utterance's whole file before it is deleted (kept audio,
        tray_client/keep.py); True when it took the file."""
        self.folder = folder
        self._keep = keep
        self._sync_interval_s = sync_interval_s
        self._queue: queue.SimpleQueue[_Append | _Forget | _Flush] = queue.SimpleQueue()
        self._written: dict[str, int] = {}  # bytes the OS has of each file (the writer sets, any thread reads)
        self._broken: set[str] = set()  # files the writer gave up on (their audio is in memory only)
        self._news: list[tuple[str, str]] = []
        self._told = False  # the user knows that writing ahead failed (once a run is enough)
        self._news_lock = threading.Lock()
        self._thread: threading.Thread | None = None  # started on the first append: no thread until needed
        self._start_lock = threading.Lock()
        self._closed = False
        self.syncs = 0  # fsyncs done (the benchmark reads it)
        self.writes = 0  # write calls made (the benchmark reads it)

    # ----- the owner's thread -----
    def path(self, utterance_id: str) -> Path:
        """Where the utterance's audio is written."""
        return self.folder / f"{utterance_id}.pcm"

    def append(self, utterance_id: str, pcm: bytes) -> None:
        """Queue `pcm` for the end of the utterance's file; never blocks."""
        if self._closed or not pcm:
            return
        self._ensure_thread()
        self._queue.put(_Append(utterance_id, pcm))

    def written(self, utterance_id: str) -> int:
        """How many bytes of the utterance the file holds now (readable from another handle)."""
        return 0 if utterance_id in self._broken else self._written.get(utterance_id, 0)

    def forget(self, utterance_id: str) -> None:
        """The utterance is done (its final delivered, or its audio kept elsewhere): delete its file."""
        if self._thread is None:
            return  # nothing was written: the folder is this process's own, so no older file has this name
        if self._closed:
            self._delete(utterance_id)  # shutdown, after the writer ended: the caller may wait for the disk
            return
        self._queue.put(_Forget(utterance_id))

    def take_news(self) -> list[tuple[str, str]]:
        """What the user should be told (level, message) since the last call."""
        with self._news_lock:
            news, self._news = self._news, []
        return news

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued is written and fsynced; False if that took longer than `timeout`."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout)

    def close(self, timeout: float = 2.0) -> bool:
        """Write and fsync what is queued, close every file (they stay on disk) and end the thread."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
        if thread is None:
            return True
        done = threading.Event()
        self._queue.put(_Flush(done, stop=True))
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._main, name="audio-journal", daemon=True)
                self._thread.start()

    # ----- the writer thread -----
    def _main(self) -> None:
        files: dict[str, _File] = {}
        last_sync = time.monotonic()
        stopping = False
        while not stopping:
            try:
                batch = [self._queue.get(timeout=self._sync_interval_s if files else None)]
            except queue.Empty:
                batch = []
            with contextlib.suppress(queue.Empty):
                while True:  # all that is queued: a slow disk gets fewer, larger writes
                    batch.append(self._queue.get_nowait())
            flushes: list[threading.Event] = []
            pending: dict[str, list[bytes]] = {}
            for item in batch:
                if isinstance(item, _Append):
                    pending.setdefault(item.utterance_id, []).append(item.pcm)
                    continue
                self._write_pending(files, pending)  # everything queued before this item, in order
                if isinstance(item, _Forget):
                    self._close(files.pop(item.utterance_id, None))
                    self._delete(item.utterance_id)
                else:
                    flushes.append(item.done)
                    stopping = stopping or item.stop
            self._write_pending(files, pending)
            now = time.monotonic()
            if flushes or stopping or now - last_sync >= self._sync_interval_s:
                self._sync(files, now, close_all=stopping)
                last_sync = now
            for done in flushes:
                done.set()

    def _write_pending(self, files: dict[str, _File], pending: dict[str, list[bytes]]) -> None:
        for utterance_id, chunks in pending.items():
            if utterance_id not in self._broken:
                self._write(files, utterance_id, b"".join(chunks))
        pending.clear()

    def _write(self, files: dict[str, _File], utterance_id: str, data: bytes) -> None:
        entry = files.get(utterance_id)
        try:
            if entry is None or entry.handle is None:
                created = not self.path(utterance_id).exists()
                self.folder.mkdir(parents=True, exist_ok=True)
                entry = files[utterance_id] = _File(io.FileIO(self.path(utterance_id), "ab"))  # unbuffered
                if created:
                    _sync_folder(self.folder)  # the new name survives a power cut too
            view = memoryview(data)
            while view:
                count = entry.handle.write(view) or 0
                view = view[count:]
            self.writes += 1
        except OSError as error:
            log.exception("could not write the audio of %s ahead to %s", utterance_id, self.folder)
            self._broken.add(utterance_id)
            self._close(files.pop(utterance_id, None))
            self._tell("error", f"audio cannot be written to {self.folder} ({error}): it is kept in memory, but a "
                                f"crash or a power cut now would lose what the server has not transcribed yet")
            return
        entry.dirty, entry.last_write = True, time.monotonic()
        self._written[utterance_id] = self._written.get(utterance_id, 0) + len(data)

    def _sync(self, files: dict[str, _File], now: float, *, close_all: bool) -> None:
        for utterance_id, entry in list(files.items()):
            if entry.dirty:
                try:
                    os.fsync(entry.handle.fileno())
                    self.syncs += 1
                except OSError:
                    log.warning("could not fsync %s", self.path(utterance_id), exc_info=True)
                entry.dirty = False
            if close_all or now - entry.last_write >= IDLE_CLOSE_S:
                self._close(files.pop(utterance_id))

    def _close(self, entry: _File | None) -> None:
        if entry is not None:
            with contextlib.suppress(OSError):
                entry.handle.close()

    def _delete(self, utterance_id: str) -> None:
        self._written.pop(utterance_id, None)
        whole = utterance_id not in self._broken  # a file the writer gave up on lacks audio: never kept
        self._broken.discard(utterance_id)
        path = self.path(utterance_id)
        try:
            if whole and self._keep is not None and path.exists() and self._keep(utterance_id, path):
                return
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not delete %s", self.path(utterance_id), exc_info=True)

    def _tell(self, level: str, message: str) -> None:
        with self._news_lock:
            if not self._told:
                self._told = True
                self._news.append((level, message))


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so that a file just created in it survives a power cut (POSIX; Windows has no such call
    and journals its directory entries itself)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
