"""The pipeline's runner for audio kept on disk across runs.

At start: what clients that died left in their spool folders is saved as WAVs (a worker thread), then, once
the server answers, transcribed and offered in Recent (recovery.py; never typed). At shutdown: each utterance
that never got its final is saved as a WAV before its write-ahead file goes, and this run's spool folder is
released; an utterance the link gave up on likewise keeps its WAV before its write-ahead file goes. Everything
but the two worker-thread jobs runs on the pipeline thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from tray_client._hub import Hub
from tray_client.config import ClientConfig
from tray_client.events import NoticeCode
from tray_client.keep import kept, save_audio
from tray_client.link.actions import Unsent
from tray_client.link.journal import AudioJournal
from tray_client.link.spool_folders import SpoolFolder, recover_leftovers
from tray_client.recovery import RecoveryResult, offer_notice, offered, transcribe_waiting

__all__ = ["JOURNAL_CLOSE_TIMEOUT_S", "Leftovers", "keep_leftover_audio", "spool_root", "tell_kept"]

log = logging.getLogger(__name__)

JOURNAL_CLOSE_TIMEOUT_S = 1.0  # the last writes and an fsync of the write-ahead audio (link/journal.py)


def spool_root() -> Path:
    """Where each client's spool folder goes (link/spool_folders.py; the folder is tray_client/keep.py's)."""
    return kept().spool


def keep_leftover_audio() -> list[Path]:
    """Save as WAVs what clients that died left in their spool folders (a worker thread: it reads the disk)."""
    try:
        return recover_leftovers(spool_root(), save_audio)
    except Exception:  # never let this stop the start; the files stay where they are
        log.exception("could not look for audio that an earlier run left in %s", spool_root())
        return []


def tell_kept(hub: Hub, saved: list[Path]) -> None:
    if saved:
        hub.notice("warning", f"{len(saved)} utterance(s) left by a run that ended before their transcript came "
                   f"are saved as audio in {saved[0].parent}; their text is offered in Recent once the server "
                   f"answers (nothing is typed)", code=NoticeCode.RECOVERED,
                   path=str(saved[0].parent))


class Leftovers:
    """Earlier runs' audio recovered once per start; this run's unsent audio kept at shutdown."""

    def __init__(self, *, hub: Hub, journal: AudioJournal, spool: SpoolFolder, config: Callable[[], ClientConfig],
                 ready: Callable[[], bool], on_change: Callable[[], None],
                 save: Callable[[str, bytes, str], Path | None]) -> None:
        self._hub = hub
        self._journal = journal
        self._spool = spool
        self._config = config
        self._ready = ready  # the server answered and the pipeline is not stopping
        self._on_change = on_change
        self._save = save  # an utterance the link gave up on: its WAV, and the user told (delivery.on_failed)
        self._state = "waiting"  # for the leftovers; then "due" (for the server), "running", "done"

    @property
    def running(self) -> bool:
        """Kept audio is being transcribed (a headless run over a file waits for it)."""
        return self._state == "running"

    def start(self) -> None:
        """Pipeline thread, at start: save the leftovers as WAVs aside, then recover them when the server is up."""
        leftovers = asyncio.get_running_loop().run_in_executor(None, keep_leftover_audio)
        leftovers.add_done_callback(self._kept)

    def server_up(self) -> None:
        """Once per start, after the leftovers are WAVs and the server answered: transcribe and offer them."""
        if self._state != "due" or not self._ready():
            return
        self._state = "running"
        job = asyncio.get_running_loop().run_in_executor(None, transcribe_waiting, self._config())
        job.add_done_callback(self._recovered)

    def _kept(self, done: asyncio.Future[list[Path]]) -> None:
        tell_kept(self._hub, done.result())
        self._state = "due"
        self.server_up()

    def _recovered(self, job: asyncio.Future[RecoveryResult]) -> None:
        self._state = "done"
        self._on_change()
        if job.cancelled():
            return
        if job.exception() is not None:
            log.error("transcribing kept audio at start failed", exc_info=job.exception())
            return
        result = job.result()
        for event in offered(result):
            self._hub.emit(event)
        notice = offer_notice(result)
        if notice is not None:
            level, message, code = notice
            self._hub.notice(level, message, code=code)

    def link_gave_up(self, utterance_id: str, audio: bytes, why: str) -> None:
        """The link gave up on an utterance: its WAV first, then its write-ahead file may go."""
        if self._save(utterance_id, audio, why) is not None or not audio:
            self._journal.forget(utterance_id)

    def keep_unsent(self, unsent: list[Unsent]) -> list[str]:
        """Save each unsent utterance's audio as a WAV, and only then delete its write-ahead file (a worker thread:
        it waits for the disk). A file whose WAV could not be written stays for the next start to keep."""
        saved = []
        for utterance in unsent:
            path = save_audio(utterance.utterance_id, utterance.audio) if utterance.audio else None
            if path is not None:
                saved.append(str(path))
            if path is not None or not utterance.audio:
                self._journal.forget(utterance.utterance_id)
        if not self._journal.close(JOURNAL_CLOSE_TIMEOUT_S):
            log.error("the audio journal did not finish writing within %.1f s; the next start keeps what it wrote",
                      JOURNAL_CLOSE_TIMEOUT_S)
        self._spool.release()
        return saved
