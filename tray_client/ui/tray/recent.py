"""The tray's view of the history: Recent, today's median latency, and the rows Diagnostics reports.

The recorder (history/recorder.py) runs on its own thread and posts a `HistorySnapshot` to the tray's inbox
after each row; this part, on the tray-controller thread, turns it into menu changes.
"""

from __future__ import annotations

from collections.abc import Callable

from tray_client.config import ClientConfig
from tray_client.history.recorder import RECENT_COUNT, HistoryRecorder, HistorySnapshot, start_recorder
from tray_client.history.store import HistoryEntry
from tray_client.port import PipelinePort
from tray_client.ui.tray import intents

__all__ = ["Recent"]


class Recent:
    """Starts the history recorder and shows its snapshots in the menu (tray-controller thread)."""

    def __init__(self, config: ClientConfig, pipeline: PipelinePort, post: intents.Post,
                 publish: Callable[..., None], on_latency: Callable[[float | None], None]) -> None:
        self._config = config
        self._pipeline = pipeline
        self._post = post
        self._publish = publish
        self._on_latency = on_latency  # the overlay shows the last latency too
        self._history: HistoryRecorder | None = None
        self.entries: tuple[HistoryEntry, ...] = ()  # the newest history rows (for Diagnostics)

    @property
    def failed(self) -> str | None:
        """Why the history does not record, or None."""
        return self._history.failed if self._history is not None else None

    def handlers(self) -> dict[type, intents.Handler]:
        return {HistorySnapshot: self._on_history}

    def start(self) -> None:
        """Listen to the pipeline from its first event (call before it starts)."""
        self._history = start_recorder(self._config, self._pipeline, on_snapshot=self._post)
        self._history.refresh()

    def close(self) -> None:
        """After the pipeline stopped: the finals typed in the grace period are recorded."""
        if self._history is not None:
            self._history.close()

    def _on_history(self, message: HistorySnapshot) -> None:
        self._publish(recent=tuple(entry.text for entry in message.recent[:RECENT_COUNT]),
                      today_p50_s=message.today_p50_s, last_latency_s=message.last_latency_s)
        self._on_latency(message.last_latency_s)
        self.entries = message.recent
