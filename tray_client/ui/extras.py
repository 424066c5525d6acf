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
from typing import Any

from tray_client.config import ClientConfig, log_path
from tray_client.events import FinalText, Notice
from tray_client.history.recorder import RECENT_COUNT, HistoryRecorder, HistorySnapshot, start_recorder
from tray_client.port import PipelinePort
from tray_client.ui import _desktop, diagnostics, intents
from tray_client.ui.overlay import Overlay
from tray_client.ui.tk_support import tk_missing
from tray_client.undo.desktop import KeyWatch, erase, focused_window
from tray_client.undo.journal import UndoJournal, UndoRefused

__all__ = ["Extras"]



log = logging.getLogger(__name__)

WAIT_FOR_FOCUS_S = 30.0
FOCUS_POLL_S = 0.1


class Extras:
    """History, undo, overlay and diagnostics, driven by the controller (see the module doc)."""

    def __init__(self, config: ClientConfig, pipeline: PipelinePort, post: Callable[[Any], None],
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
        self._web: Any = None  # the web app's server, started on first use (webapp.server.WebServer)

    def handlers(self) -> dict[type, Callable[[Any], None]]:
        """The controller's handlers for what these features receive."""
        return {
            HistorySnapshot: self._on_history,
            intents.UndoLast: lambda _i: self.undo_last(),
            intents.ShowDiagnostics: lambda _i: self._start_diagnostics(),
            intents.OpenSettings: lambda i: self._open_settings(i.page),
            intents.SettingsSaved: self._on_settings_saved,
            intents.DiagnosticsWritten: self._on_diagnostics_written,
            intents.CopyText: lambda i: _desktop.copy_to_clipboard(i.text),
            intents.TypeText: self._on_type_text,
        }

    # --- starting and stopping ------------------------------------------------------------------------------

    def start_before_pipeline(self) -> None:
        """The overlay and the history recorder listen to the pipeline from its first event."""
        if self._config.overlay:
            self.set_overlay(True)
        self._history = start_recorder(self._config, self._pipeline, on_snapshot=self._post)
        self._history.refresh()
        self._pipeline.use_undo(self.voice_undo)  # the voice command "scratch that" undoes like the hotkey

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
        if self._web is not None:
            self._web.stop()

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

    def _open_settings(self, page: str) -> None:
        """The app's window: the local web app (started on first use), opened in the default browser."""
        from tray_client.webapp.launch import open_in_browser, publish_url

        try:
            url = self._web_app().start().login_url(page)
        except Exception as error:
            log.exception("the web app could not start")
            self._notify(f"Settings could not open: {error}")
            return
        publish_url(url)
        open_in_browser(url, on_error=lambda why: self._post(Notice("error", why)))

    def _web_app(self) -> Any:
        if self._web is None:
            from tray_client.capture.audio_source import list_input_devices
            from tray_client.capture.level import MicLevel
            from tray_client.ui import autostart
            from tray_client.webapp.api import AppHooks
            from tray_client.webapp.server import WebServer

            self._web = WebServer(AppHooks(
                config_file=self._config.config_file,
                on_saved=lambda changes: self._post(intents.SettingsSaved(dict(changes))),
                type_text=lambda text: self._post(intents.TypeText(text, when_focus_moves=True)),
                copy_text=lambda text: self._post(intents.CopyText(text)),
                health=diagnostics.health_summary, devices=list_input_devices, level=MicLevel,
                autostart=autostart.is_enabled, set_autostart=lambda on: self._post(intents.SetAutostart(on))))
        return self._web

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

    def _on_type_text(self, intent: intents.TypeText) -> None:
        """From the menu at once (the menu closing gives the focus back); from the web app once the user has
        switched from the browser to the window to type into (WAIT_FOR_FOCUS_S at most, then a notice)."""
        if not intent.when_focus_moves:
            self.type_again(intent.text)
            return
        browser = focused_window()
        self._notify("Type again: click into the window to type into")

        def wait() -> None:
            deadline = time.monotonic() + WAIT_FOR_FOCUS_S
            while time.monotonic() < deadline:
                if focused_window() not in (browser, ""):
                    self._post(intents.TypeText(intent.text))
                    return
                time.sleep(FOCUS_POLL_S)  # polling the focus: the desktop has no portable "focus moved" event
            self._post(Notice("warning", "Type again: no other window was focused; nothing was typed"))

        threading.Thread(target=wait, name="type-again-focus", daemon=True).start()

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
