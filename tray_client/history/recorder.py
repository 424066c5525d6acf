"""Records every final into the history database on a thread of its own.

Thread map: `on_event` runs on the pipeline thread (a listener: it only stamps the event and queues it); the
`history` thread owns the `HistoryStore` (every SQLite call), records the app the final went to (FinalText.app:
the one focus answer the writer pinned and typed into, never the OS asked again later, when the user may have
moved on to another window), prunes old rows and
hands a fresh `HistorySnapshot` to `on_snapshot` (the tray posts it to its controller). `close()` writes what
is queued and ends the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_client.events import FinalText, PipelineEvent, RecoveredText, SpeechSegment
from tray_client.history.store import HistoryEntry, HistoryStore, median_or_none, start_of_today
from tray_client.history.tracker import UtteranceTracker

if TYPE_CHECKING:
    from tray_client.config import ClientConfig
    from tray_client.port import PipelinePort

__all__ = ["RECENT_COUNT", "RECOVERED_OUTPUT", "HistoryRecorder", "HistorySnapshot", "start_recorder"]

log = logging.getLogger(__name__)

RECENT_COUNT = 10  # entries in the tray's Recent submenu
RECOVERED_OUTPUT = "recovered"  # the history's `output` of words transcribed from kept audio, offered not typed
DIAGNOSTIC_COUNT = 20  # latencies in the diagnostics report
PRUNE_EVERY_S = 3600.0
CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class HistorySnapshot:
    """What the tray shows from the history: the newest entries and today's median latency."""

    recent: tuple[HistoryEntry, ...] = ()
    today_p50_s: float | None = None
    last_latency_s: float | None = None
    write_s: float = 0.0  # how long the last row took to write (bench_client reports it)


_STOP = object()


class HistoryRecorder:
    """Subscribe it to a pipeline; it records each final with its latency and target app (see module doc)."""

    def __init__(self, path: Path, *, days: float, output: Callable[[], str],
                 real_time: bool = True,
                 on_snapshot: Callable[[HistorySnapshot], None] | None = None) -> None:
        self._path = path
        self._days = days
        self._output = output
        self._on_snapshot = on_snapshot
        self._tracker = UtteranceTracker(real_time=real_time)  # pipeline thread only
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="history", daemon=True)
        self._started = False
        self.failed: str | None = None  # why the history stopped recording (shown by diagnostics)

    def start(self) -> None:
        self._started = True
        self._thread.start()

    def on_event(self, event: PipelineEvent) -> None:
        """Pipeline listener: stamp and queue; never blocks."""
        if isinstance(event, SpeechSegment):
            self._tracker.segment(event, time.monotonic())
        elif isinstance(event, FinalText) and event.text:
            self._queue.put(self._tracker.final(event, time.monotonic(), time.time(), self._output()))
        elif isinstance(event, RecoveredText) and event.text:  # offered, not typed: no target app, no latency
            self._queue.put(HistoryEntry(time=time.time(), text=event.text, raw=event.raw, language=event.language,
                                         audio_s=event.audio_s, latency_s=None, silence_s=None, server_s=None,
                                         typing_s=None, target_app="", output=RECOVERED_OUTPUT,
                                         utterance_id=event.utterance_id))

    def refresh(self) -> None:
        """Ask for a snapshot now (the tray's Recent menu at start)."""
        self._queue.put(None)

    def close(self) -> None:
        """Write what is queued, then end the thread (bounded by CLOSE_TIMEOUT_S)."""
        if not self._started:
            return
        self._queue.put(_STOP)
        self._thread.join(CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("history: the writer did not finish within %.1f s", CLOSE_TIMEOUT_S)

    # ----- the history thread -----
    def _main(self) -> None:
        try:
            store = HistoryStore(self._path)
        except Exception as error:  # a locked or unwritable data directory must not stop dictation
            self.failed = f"the history cannot be opened ({self._path}: {error})"
            log.error("history: %s; transcripts are not recorded", self.failed)
            return
        pruned_at: float | None = None
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if pruned_at is None or time.monotonic() - pruned_at > PRUNE_EVERY_S:
                    removed = store.prune(self._days)
                    pruned_at = time.monotonic()
                    if removed:
                        log.info("history: removed %d entries older than %g days", removed, self._days)
                write_s = 0.0
                if isinstance(item, HistoryEntry) and self._days > 0:
                    started = time.perf_counter()
                    store.add(item)
                    write_s = time.perf_counter() - started
                if self._on_snapshot is not None:
                    self._on_snapshot(self._snapshot(store, write_s))
        except Exception as error:
            self.failed = f"the history stopped recording: {error}"
            log.exception("history: writer failed")
        finally:
            store.close()

    def _snapshot(self, store: HistoryStore, write_s: float) -> HistorySnapshot:
        recent = tuple(store.recent(max(RECENT_COUNT, DIAGNOSTIC_COUNT)))
        return HistorySnapshot(recent=recent, today_p50_s=median_or_none(store.latencies_since(start_of_today())),
                               last_latency_s=recent[0].latency_s if recent else None, write_s=write_s)


def start_recorder(config: ClientConfig, pipeline: PipelinePort,
                   on_snapshot: Callable[[HistorySnapshot], None] | None = None) -> HistoryRecorder:
    """A started recorder subscribed to `pipeline`, following `config` (history_days, output, input_wav/fast)."""
    from tray_client.history.store import history_path
    recorder = HistoryRecorder(
        history_path(), days=config.history_days, output=lambda: pipeline.config.output, real_time=not (config.input_wav and config.fast), on_snapshot=on_snapshot)
    recorder.start()
    pipeline.subscribe(recorder.on_event)
    return recorder
