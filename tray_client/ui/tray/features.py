"""The tray's features beside dictation itself, put together: Recent (history), undo, the live preview, type
again, the settings window and diagnostics. Each lives in its own room (ui/tray/recent.py, ui/tray/undo.py,
ui/overlay/preview.py, ui/tray/type_again.py, ui/settings/window.py, ui/tray/diagnostics.py); this only builds
them, hands the controller their handlers, and starts and stops them in the order the app needs.

Everything here runs on the tray-controller thread, except the short-lived diagnostics and focus-wait threads
and the output-thread jobs, which only post back to the inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tray_client.config import ClientConfig
from tray_client.events import FinalText
from tray_client.history.store import HistoryEntry
from tray_client.port import PipelinePort
from tray_client.ui.overlay.preview import Preview
from tray_client.ui.settings.window import SettingsWindow
from tray_client.ui.tray import intents
from tray_client.ui.tray.diagnostics import DiagnosticsItem, health_summary
from tray_client.ui.tray.recent import Recent
from tray_client.ui.tray.type_again import TypeAgain
from tray_client.ui.tray.undo import UndoControl

__all__ = ["Features"]


class Features:
    """Builds the features and is the controller's one way to them (see the module doc)."""

    def __init__(self, config: ClientConfig, pipeline: PipelinePort, post: intents.Post,
                 notify: Callable[[str], object], publish: Callable[..., None],
                 open_path: Callable[[Path], None]) -> None:
        self._config = config
        self.preview = Preview(pipeline, notify, publish)
        self.recent = Recent(config, pipeline, post, publish, on_latency=self.preview.latency)
        self.undo = UndoControl(pipeline, post)
        self.again = TypeAgain(pipeline, post, notify)
        self.settings_window = SettingsWindow(config, post, notify, health=health_summary,
                                              running_config=lambda: pipeline.config)
        self.diagnostics = DiagnosticsItem(lambda: pipeline.config, self._diagnostic_facts, post, notify, open_path)

    def handlers(self) -> dict[type, intents.Handler]:
        """The controller's handlers for what these features receive."""
        handlers: dict[type, intents.Handler] = {}
        for part in (self.recent, self.undo, self.again, self.settings_window, self.diagnostics):
            handlers.update(part.handlers())
        return handlers

    # --- starting and stopping ------------------------------------------------------------------------------

    def start_before_pipeline(self) -> None:
        """The overlay and the history recorder listen to the pipeline from its first event."""
        if self._config.overlay:
            self.preview.set_enabled(True)
        self.recent.start()
        self.undo.attach()

    def start_key_watch(self) -> None:
        self.undo.start_key_watch()

    def stop_keys(self) -> None:
        self.undo.stop_keys()

    def close(self) -> None:
        """After the pipeline stopped: the finals typed in the grace period are recorded."""
        self.recent.close()
        self.preview.close()
        self.settings_window.close()

    # --- where the features join the dictation flow ---------------------------------------------------------

    def on_final(self, event: FinalText) -> None:
        self.undo.on_final(event)

    def set_overlay(self, enabled: bool) -> bool:
        """Returns whether the preview is on now (see ui/overlay/preview.py)."""
        return self.preview.set_enabled(enabled)

    def undo_last(self) -> None:
        self.undo.undo_last()

    def type_again(self, text: str) -> None:
        self.again.type_again(text)

    def _diagnostic_facts(self) -> tuple[tuple[HistoryEntry, ...], tuple[str, ...]]:
        notes = tuple(f"{name}: {failed}" for name, failed in (("history", self.recent.failed),
                                                                ("overlay", self.preview.failed)) if failed)
        if self._config.history_days <= 0:
            notes += ("history_days = 0: no latencies are kept",)
        return self.recent.entries, notes
