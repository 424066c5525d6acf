"""The tray's features beside dictation itself: history (Recent, latency), undo, the live overlay, diagnostics.

Kept apart from the controller so each stays small; the controller calls in at the few points where these
features join the dictation flow (a final, the undo hotkey, the overlay setting) and registers `handlers()`.
Everything here runs on the tray-controller thread, except the short-lived diagnostics thread and the output
thread jobs, which only post back to the inbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tray_client.config import ClientConfig, log_path
from tray_client.events import FinalText, Notice
from tray_client.history.recorder import RECENT_COUNT, HistoryRecorder, HistorySnapshot, start_recorder
from tray_client.ui import _desktop, diagnostics, intents
from tray_client.ui.overlay import Overlay
from tray_client.ui.tk_support import TkUnavailable, tk_missing
from tray_client.undo.desktop import KeyWatch, erase, focused_window
from tray_client.undo.journal import UndoJournal, UndoRefused

__all__ = ["Extras"]


def _test_connection(server: str, token: str | None) -> str:
    """The settings window's Test connection: the server's model and how long /healthz took."""
    health, error, elapsed = diagnostics.check_health(server, token)
    if health is None:
        return f"failed after {elapsed:.0f} ms: {error}"
    return f"ok in {elapsed:.0f} ms: model {health.get('model', '?')} ({health.get('backend', '?')})"

log = logging.getLogger(__name__)


class Extras:
    """History, undo, overlay and diagnostics, driven by the controller (see the module doc)."""

    def __init__(self, config: ClientConfig, pipeline: Any, post: Callable[[Any], None],
                 notify: Callable[[str], Any], publish: Callable[..., None], open_path: Callable[[Any], None]) -> None:
        self._config = config
        self._pipeline = pipeline
        self._post = post
        self._notify = notify
        self._publish = publish
        self._open = open_path
        self._history: HistoryRecorder | None = None
        self._undo = UndoJournal()
        self._key_watch: KeyWatch | None = None
        self._overlay: Overlay | None = None
        self._history_entries: tuple[Any, ...] = ()  # the newest history rows (for Diagnostics)

    def handlers(self) -> dict[type, Callable[[Any], None]]:
        """The controller's handlers for what these features receive."""
        return {
            HistorySnapshot: self._on_history,
            intents.UndoLast: lambda _i: self.undo_last(),
            intents.ShowDiagnostics: lambda _i: self._start_diagnostics(),
            intents.OpenSettings: lambda _i: self._open_settings(),
            intents.SettingsSaved: self._on_settings_saved,
            intents.DiagnosticsWritten: self._on_diagnostics_written,
            intents.CopyText: lambda i: _desktop.copy_to_clipboard(i.text),
            intents.TypeText: lambda i: self.type_again(i.text),
        }

    # --- starting and stopping ------------------------------------------------------------------------------

    def start_before_pipeline(self) -> None:
        """The overlay and the history recorder listen to the pipeline from its first event."""
        if self._config.overlay:
            self.set_overlay(True)
        self._history = start_recorder(self._config, self._pipeline, on_snapshot=self._post)
        self._history.refresh()
        if hasattr(self._pipeline, "use_undo"):  # the voice command "scratch that" undoes like the hotkey
            self._pipeline.use_undo(self.voice_undo)

    def start_key_watch(self) -> None:
        """Undo needs to know whether the user typed since a final; without the watch it refuses to act."""
        try:
            self._key_watch = KeyWatch(self._undo)
            self._key_watch.start()
        except Exception as error:
            self._key_watch = None
            self._undo.blind(f"the keyboard cannot be watched ({error})")

    def stop_keys(self) -> None:
        if self._key_watch is not None:
            self._key_watch.stop()

    def close(self) -> None:
        """After the pipeline stopped: the finals typed in the grace period are recorded."""
        if self._history is not None:
            self._history.close()
        if self._overlay is not None:
            self._overlay.close()

    # --- joining the dictation flow -------------------------------------------------------------------------

    def on_final(self, event: FinalText) -> None:
        if self._pipeline.config.output != "stdout":
            self._undo.typed(event.typed, event.window or focused_window(), time.monotonic())

    def set_overlay(self, enabled: bool) -> bool:
        """The overlay's own thread (see overlay.py); it hears the pipeline directly, partials included.

        Returns whether the preview is on now: without Tk it cannot be, and a notice says how to get Tk (the
        menu's check mark then shows it off, not a preview that never appears)."""
        problem = tk_missing("The live preview") if enabled and self._overlay is None else None
        if problem is not None:
            log.warning("%s", problem)
            self._notify(problem)
            self._publish(overlay=False)
            return False
        if enabled and self._overlay is None:
            self._overlay = Overlay()
            self._overlay.start()
            self._pipeline.subscribe(self._overlay.post)
        if self._overlay is not None:
            self._overlay.set_enabled(enabled)
        return enabled

    def undo_last(self) -> None:
        """The undo hotkey or menu item: on the output thread, after any final still being typed, through the
        text writer (which restores the spacing) into `voice_undo` (this journal's rules); a refusal is shown."""
        def report(done: Any) -> None:  # on the output thread: only post
            error = done.exception()
            if error is not None:
                self._post(Notice("error", f"Undo failed: {error}"))
            elif done.result():
                self._post(Notice("warning", done.result()))

        self._pipeline.undo_last().add_done_callback(report)

    def voice_undo(self, sink: Any) -> str:
        """"Scratch that", on the output thread in line with the finals: the hotkey's undo, same journal.
        Returns "" when it deleted, else why not (the text stage shows that as a notice)."""
        plan = self._undo.plan(focused_window())
        if isinstance(plan, UndoRefused):
            return plan.reason
        refused = erase(sink, plan.typed)  # exactly that text, or nothing (see undo/desktop.py)
        if refused:
            return refused
        self._undo.done(plan)
        return ""

    # --- handlers -------------------------------------------------------------------------------------------

    def _on_history(self, message: HistorySnapshot) -> None:
        self._publish(recent=tuple(entry.text for entry in message.recent[:RECENT_COUNT]),
                      today_p50_s=message.today_p50_s, last_latency_s=message.last_latency_s)
        if self._overlay is not None:
            self._overlay.latency(message.last_latency_s)
        self._history_entries = message.recent

    def _on_diagnostics_written(self, intent: intents.DiagnosticsWritten) -> None:
        self._notify(f"Diagnostics written to {intent.path}")
        self._open(intent.path)

    def _open_settings(self) -> None:
        """The settings window on its own thread; it edits the config file, then the live settings apply here."""
        from tray_client.capture.audio_source import list_input_devices
        from tray_client.capture.level import MicLevel
        from tray_client.config import config_path, load_config
        from tray_client.ui import autostart
        from tray_client.ui.settings import SettingsHooks, open_settings

        path = self._config.config_file or str(config_path())
        try:
            config = load_config(["--config-file", path]) if Path(path).exists() else ClientConfig(config_file=path)
        except ValueError as error:
            self._notify(f"Settings: the config file has an error; fix it first ({error})")
            return
        try:
            autostart_on = autostart.is_enabled()
        except OSError:
            autostart_on = False
        hooks = SettingsHooks(
            on_save=lambda _path, changes: self._post(intents.SettingsSaved(dict(changes))),
            test_connection=_test_connection, devices=list_input_devices, level=MicLevel,
            autostart=autostart_on, on_autostart=lambda on: self._post(intents.SetAutostart(on)))
        try:
            if not open_settings(config, hooks):
                self._notify("The settings window is open already")
        except TkUnavailable as error:
            log.warning("%s", error)
            self._notify(str(error))

    def _on_settings_saved(self, message: intents.SettingsSaved) -> None:
        from tray_client.ui.settings_model import LIVE

        later = sorted(key for key in message.changes if key not in LIVE)
        for key, value in message.changes.items():
            if key in LIVE:
                self._post(intents.SetSetting(key, value, save=False))
        if later:
            self._notify(f"Saved; {', '.join(later)} take effect at the next start")

    def _start_diagnostics(self) -> None:
        """Gather and write the report on a short-lived thread (it waits on the network and PortAudio)."""
        config = self._pipeline.config
        notes = tuple(f"{name}: {part.failed}" for name, part in (("history", self._history),
                                                                  ("overlay", self._overlay))
                      if part is not None and part.failed)
        entries = self._history_entries
        if self._config.history_days <= 0:
            notes += ("history_days = 0: no latencies are kept",)

        def work() -> None:
            try:
                path = diagnostics.write_report(log_path().parent, diagnostics.gather(config, entries, notes))
            except Exception as error:
                log.exception("diagnostics failed")
                self._post(Notice("error", f"Diagnostics could not be written: {error}"))
                return
            self._post(intents.DiagnosticsWritten(path))

        threading.Thread(target=work, name="diagnostics", daemon=True).start()

    def type_again(self, text: str) -> None:
        """Type a Recent entry, or the last transcript (Paste last), into the focused window, spaced like the
        next dictation, on the output thread (after any final being typed)."""
        def report(done: Any) -> None:  # on the output thread: only post
            if done.exception() is not None:
                self._post(Notice("error", f"could not type the text again ({done.exception()})"))
                return
            written = done.result()
            if written.on_clipboard:
                self._post(Notice("warning", f"{written.on_clipboard}. Paste it with Ctrl+V."))
            elif written.typed:
                self._post(FinalText("again", written.text, typed=written.typed, app=written.target.app,
                                     window=written.target.window))

        if not text:
            self._notify("Nothing to paste yet: no dictation has finished")
            return
        self._pipeline.retype(text).add_done_callback(report)
