"""Reads the focused app's context when an utterance starts, on a worker thread of its own.

The pipeline thread (VAD, segmenter) asks `read(focus, budget)` as an utterance opens; the accessibility calls
(AT-SPI over D-Bus, UI Automation over COM) run on this reader's one worker, and the pipeline waits at most
`timeout_s` for them. A reading that comes later is dropped (the utterance goes without it) and logged, so a
slow or hung app never holds the audio path longer than that bound; the microphone thread is never involved.

Which reader: Windows, UI Automation (`_uia`) for the focused control; Linux, AT-SPI (`_atspi`); then, on both,
the window title. The rules on what may be sent are in `app_context.compose`.
"""

from __future__ import annotations

import concurrent.futures
import logging
import sys
import time
from collections.abc import Callable

from tray_client.desktop.app_context import AppText, compose
from tray_client.desktop.focus import Focus
from tray_client.desktop.window_title import window_title

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 0.15


def read_app_text(focus: Focus) -> AppText:
    """One reading of the focused app (worker thread): its field's text where the platform tells, its title."""
    reading: AppText | None = None
    if sys.platform == "win32":
        from tray_client.desktop._uia import read_focused_text as read_uia

        reading = read_uia()
    elif focus.known:
        from tray_client.desktop._atspi import read_focused_text as read_atspi

        reading = read_atspi(focus.pid)
    reading = reading or AppText()
    return AppText(focus.app, window_title(focus.window), reading.text, reading.caret, reading.selection,
                   reading.secret)


class ContextReader:
    """`read` from one thread (the pipeline's); the readings themselves run on this reader's worker."""

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 reader: Callable[[Focus], AppText] = read_app_text) -> None:
        self._timeout_s = timeout_s
        self._reader = reader
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="app-context")
        self._busy: concurrent.futures.Future[AppText] | None = None
        self.last_read_s = 0.0  # how long the pipeline waited last time (diagnostics, the benchmark)

    def read(self, focus: Focus, budget: int) -> str:
        """The context to send with an utterance that starts in `focus` ("" when none, or not in time)."""
        started = time.perf_counter()
        try:
            if self._busy is not None and not self._busy.done():
                log.info("app context: the previous reading is still running; this utterance goes without")
                return ""
            self._busy = self._pool.submit(self._reader, focus)
            try:
                reading = self._busy.result(timeout=self._timeout_s)
            except concurrent.futures.TimeoutError:
                log.info("app context: %s did not answer within %.0f ms; this utterance goes without",
                         focus.app or "the app", self._timeout_s * 1000)
                return ""
            except Exception:  # a reader bug must not stop dictation: log it with its traceback
                log.exception("app context: reading %s failed", focus.app or "the focused app")
                return ""
            context = compose(reading, budget)
            log.debug("app context for %s: %d characters", focus.app or "?", len(context))
            return context
        finally:
            self.last_read_s = time.perf_counter() - started

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
