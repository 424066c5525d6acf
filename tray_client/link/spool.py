"""The audio of every utterance still waiting for its final: in memory up to a cap, then the oldest on disk.

While the server is down the link keeps every word (it replays them when the server is back), so a server that
stays down all afternoon would make the client hold hours of audio. Past `max_bytes` in memory, the oldest
utterances' audio moves to one file per utterance under `folder`; replays read it back, and the file is deleted
once the utterance is done. The user is told when audio first goes to disk. If the disk fails too, the audio
stays in memory (nothing is dropped) and the user is told that as well.

With a write-ahead journal (link/journal.py, what the client runs with), every frame is on its way to that file
from the start, so that a killed process loses nothing; memory is then only the fast copy for replays, and moving
audio "to disk" past the cap just drops the in-memory copy of frames the journal has already written (the owner's
thread never waits for the disk). Without one (unit tests of the link), the cap writes the files itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tray_client.link.journal import AudioJournal

log = logging.getLogger(__name__)

MAX_HELD_BYTES = 32_000_000  # ~17 min of 16 kHz int16 audio in memory; the rest waits on disk


@dataclass(frozen=True)
class _OnDisk:
    """One frame of audio moved to the utterance's spool file."""

    offset: int
    length: int


class HeldAudio:
    """Frames of audio by utterance id, in arrival order; frames are at most `frame_bytes` long."""

    def __init__(self, frame_bytes: int, folder: Path, max_bytes: int | None = None,
                 journal: AudioJournal | None = None) -> None:
        self._frame_bytes = frame_bytes
        self._journal = journal
        self._folder = folder if journal is None else journal.folder
        self._max_bytes = MAX_HELD_BYTES if max_bytes is None else max_bytes
        self._frames: dict[str, list[bytes | _OnDisk]] = {}
        self._file_sizes: dict[str, int] = {}
        self._in_memory = 0
        self._told = False  # the user knows that audio is on disk (until everything on disk is done)
        self._news: list[tuple[str, str]] = []

    @property
    def in_memory(self) -> int:
        """Bytes of audio held in memory now."""
        return self._in_memory

    def add(self, utterance_id: str, pcm: bytes) -> None:
        """Keep `pcm` after the utterance's earlier audio (one frame per `frame_bytes`)."""
        if self._journal is not None:
            self._journal.append(utterance_id, pcm)
            self._news += self._journal.take_news()
        frames = self._frames.setdefault(utterance_id, [])
        frames.extend(pcm[i : i + self._frame_bytes] for i in range(0, len(pcm), self._frame_bytes))
        self._in_memory += len(pcm)
        if self._in_memory > self._max_bytes:
            self._spill()

    def count(self, utterance_id: str) -> int:
        return len(self._frames.get(utterance_id, ()))

    def frames(self, utterance_id: str, start: int) -> list[bytes]:
        """The utterance's frames from `start` on, read back from disk where needed (OSError if it cannot be)."""
        return [self._read(utterance_id, frame) for frame in self._frames.get(utterance_id, [])[start:]]

    def readable_frames(self, utterance_id: str, start: int) -> list[bytes] | None:
        """`frames`, or None (and the error logged) if the part on disk cannot be read."""
        try:
            return self.frames(utterance_id, start)
        except OSError:
            log.exception("the audio of %s cannot be read back from %s", utterance_id, self._folder)
            return None

    def audio(self, utterance_id: str) -> bytes:
        """All of the utterance's audio; b"" (and the error logged) if the part on disk cannot be read."""
        return b"".join(self.readable_frames(utterance_id, 0) or [])

    def forget(self, utterance_id: str, *, keep_file: bool = False) -> None:
        """The utterance is done: free its memory and delete its file (unless `keep_file`: the caller saves its
        audio elsewhere first, then calls `discard`)."""
        frames = self._frames.pop(utterance_id, [])
        self._in_memory -= sum(len(frame) for frame in frames if isinstance(frame, bytes))
        if self._journal is not None:
            self._file_sizes.pop(utterance_id, None)
            if not keep_file:
                self._journal.forget(utterance_id)
            if not self._file_sizes:
                self._told = False
        elif self._file_sizes.pop(utterance_id, None) is not None:
            try:
                self._path(utterance_id).unlink(missing_ok=True)
            except OSError:
                log.warning("could not delete %s", self._path(utterance_id), exc_info=True)
            if not self._file_sizes:
                self._told = False

    def take_news(self) -> list[tuple[str, str]]:
        """What the user should be told (level, message) since the last call."""
        news, self._news = self._news, []
        return news

    def _path(self, utterance_id: str) -> Path:
        return self._folder / f"{utterance_id}.pcm" if self._journal is None else self._journal.path(utterance_id)

    def _spill(self) -> None:
        """Move the oldest utterances' audio to disk until half the cap is in memory."""
        if self._journal is not None:
            self._release_written()
            return
        moved = 0
        for utterance_id, frames in self._frames.items():
            if self._in_memory <= self._max_bytes // 2:
                break
            in_memory = [frame for frame in frames if isinstance(frame, bytes)]
            if not in_memory:
                continue
            try:
                self._folder.mkdir(parents=True, exist_ok=True)
                with self._path(utterance_id).open("ab") as file:
                    file.write(b"".join(in_memory))
            except OSError as error:
                log.exception("could not move audio to %s", self._folder)
                self._news.append(("error", f"the server has been unreachable a long time and audio cannot be "
                                            f"kept on disk ({error}); it stays in memory"))
                return
            offset = self._file_sizes.get(utterance_id, 0)
            for index, frame in enumerate(frames):
                if isinstance(frame, bytes):
                    frames[index] = _OnDisk(offset, len(frame))
                    offset += len(frame)
            self._file_sizes[utterance_id] = offset
            size = sum(len(frame) for frame in in_memory)
            self._in_memory -= size
            moved += size
        if moved and not self._told:
            self._told = True
            self._news.append(("warning", f"the server has not answered for a while: audio waiting for it is kept "
                                          f"on disk in {self._folder} until it is back; nothing is lost"))

    def _release_written(self) -> None:
        """Drop the in-memory copy of the oldest frames the journal has written, until half the cap is in memory
        (frames still queued for the writer stay: the next spill takes them)."""
        assert self._journal is not None
        moved = 0
        for utterance_id, frames in self._frames.items():
            if self._in_memory <= self._max_bytes // 2:
                break
            written, offset, before = self._journal.written(utterance_id), 0, moved
            for index, frame in enumerate(frames):
                length = frame.length if isinstance(frame, _OnDisk) else len(frame)
                if offset + length > written:
                    break
                if isinstance(frame, bytes):
                    frames[index] = _OnDisk(offset, length)
                    self._in_memory -= length
                    moved += length
                offset += length
            if moved > before:
                self._file_sizes[utterance_id] = offset
        if moved and not self._told:
            self._told = True
            self._news.append(("warning", f"the server has not answered for a while: audio waiting for it is kept "
                                          f"on disk in {self._folder} until it is back; nothing is lost"))

    def _read(self, utterance_id: str, frame: bytes | _OnDisk) -> bytes:
        if isinstance(frame, bytes):
            return frame
        with self._path(utterance_id).open("rb") as file:
            file.seek(frame.offset)
            return file.read(frame.length)
