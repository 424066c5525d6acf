"""The media pause's thread: it follows the pipeline's speech state and talks to the players off the pipeline.

    thread        way in                        does
    -----------   ---------------------------   ------------------------------------------------------------
    pipeline      `on_event` (a listener)       notes speech starting or ending; only puts it in the queue
    media-pause   its SimpleQueue               resumes what a crashed run left paused, then pauses and
                                                resumes (D-Bus calls may take up to a second or two)
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tray_client.events import ClientState, PipelineEvent, StateChanged
from tray_client.media.pause import MediaPause, PausedNote, Players

__all__ = ["NOT_HERE", "MediaWatch", "start_media_watch"]

log = logging.getLogger(__name__)

NOT_HERE = ("pause_media is on, but media can be paused only on Windows and on Linux desktops (MPRIS over "
            "D-Bus); media keeps playing while you dictate")
_STOP = object()


class EventSource(Protocol):
    """The pipeline, as far as the watch needs it."""

    def subscribe(self, listener: Callable[[PipelineEvent], None]) -> None: ...


class MediaWatch:
    """Pause media while the pipeline hears speech (see the module doc)."""

    def __init__(self, players: Callable[[], Players], note: PausedNote) -> None:
        self._make_players = players
        self._note = note
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._speaking = False  # pipeline thread only
        self._thread = threading.Thread(target=self._main, name="media-pause", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def on_event(self, event: PipelineEvent) -> None:
        """Pipeline thread: only notes the change."""
        if isinstance(event, StateChanged):
            speaking = event.state is ClientState.SPEECH
            if speaking != self._speaking:
                self._speaking = speaking
                self._inbox.put(speaking)

    def stop(self, timeout: float = 3.0) -> None:
        """Quit: play again what is paused, then end the thread."""
        self._inbox.put(_STOP)
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            players = self._make_players()
            players.playing()  # a first look: no session bus or no audio service is said once, here
        except Exception as error:
            log.warning("pause_media: the media players cannot be reached (%s); media keeps playing", error)
            return
        pause = MediaPause(players, self._note)
        pause.recover()
        while True:
            message = self._inbox.get()
            try:
                if message is _STOP:
                    pause.speech_ended()
                    return
                if message:
                    pause.speech_started()
                else:
                    pause.speech_ended()
            except Exception:
                log.exception("pause_media failed; it goes on with the next utterance")


def note_path() -> Path:
    """Where the players paused and not yet resumed are noted (beside the spool, in the user's log folder)."""
    from tray_client.config import log_path

    return log_path().parent / "media_paused.json"


def start_media_watch(pipeline: EventSource, notify: Callable[[str], object]) -> MediaWatch | None:
    """With pause_media on (ui.app): the running watch, hearing `pipeline` (Windows: other apps' sessions turned
    down; Linux: MPRIS players paused); elsewhere None, and the user is told it does nothing there."""
    players: Callable[[], Players]
    if sys.platform == "win32":
        from tray_client.media._win32_duck import SessionVolumes

        players = SessionVolumes
    elif sys.platform.startswith("linux"):
        from tray_client.media._mpris import MprisPlayers

        players = MprisPlayers
    else:
        notify(NOT_HERE)
        return None
    watch = MediaWatch(players, PausedNote(note_path()))
    watch.start()
    pipeline.subscribe(watch.on_event)
    return watch
