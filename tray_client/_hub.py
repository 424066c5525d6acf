"""The pipeline's one way out: typed events to every listener, on the pipeline thread.

Capture, delivery and the runner all report through one Hub, so a listener (the tray, the headless run, a test)
sees one ordered stream whatever part of the pipeline spoke.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tray_client.events import Notice, NoticeCode, PipelineEvent

log = logging.getLogger(__name__)

Listener = Callable[[PipelineEvent], None]


class Hub:
    """Listeners for pipeline events; `emit` and `notice` are called on the pipeline thread only."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` for every event, on the pipeline thread; it must return quickly. Any thread."""
        with self._lock:
            self._listeners.append(listener)

    def emit(self, event: PipelineEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("a pipeline listener failed on %r", event)

    def notice(self, level: str, message: str, *, code: NoticeCode = NoticeCode.PLAIN, **extra: str) -> None:
        """Log `message` and show it to the user; `code` says what kind of problem it is (see events.Notice)."""
        log.log(logging.ERROR if level == "error" else logging.WARNING if level == "warning" else logging.INFO,
                "%s", message)
        self.emit(Notice(level, message, dict(extra), code))
