"""The tray app: a pystray icon that shows the pipeline's state and lets the user drive it.

Thread map (each thread has one owner and one way in):

    thread             owner / started by          way in                         does
    ----------------   -------------------------   ----------------------------   ------------------------------
    main               run_tray                    pystray's event loop           X11/win32 tray events; a click
                                                   (icon.stop from controller)    or menu item posts an intent
    tray-controller    pystray (its setup thread)  TrayApp._inbox (SimpleQueue)   runs TrayController (owns the
                                                                                  TrayView, config, sounds and
                                                                                  notifications; sends Commands to
                                                                                  the pipeline; sets icon image,
                                                                                  title, menu) and Features; Quit
    pipeline (asyncio) Pipeline.start()            Pipeline.send / update_settings  mic -> VAD -> server -> typing;
                                                                                  its events are put in _inbox
    PortAudio callback Pipeline (mic source)       -                              audio into the asyncio loop
    vad-load           TrayApp._wire (VadPreload)  -                              loads Silero once, as the icon
                                                                                  shows; its future goes to the
                                                                                  pipeline (capture/vad_preload.py)
    hotkeys            HotkeyListener (pynput)     keyboard events from the OS    posts HotkeyDown/Up to _inbox
    overlay            Overlay.start()             its SimpleQueue (pipeline      owns its own Tk interpreter: the
                                                   listener + controller post)    preview window; Quit closes it
    undo-keys          KeyWatch (pynput)           keyboard events from the OS    marks "the user typed" in the
                                                                                  UndoJournal (a lock)
    x11-hotkey-grab    HotkeyListener (X11 only)   stop event                     holds the XGrabKey grabs so the
                                                                                  hotkey never reaches the app
    history            HistoryRecorder.start()     its SimpleQueue (a pipeline    owns the SQLite history; posts
                                                   listener stamps and queues)    HistorySnapshot to _inbox

Nothing mutable is shared: the pipeline, the hotkeys and the tray reach the controller only through `_inbox`;
the controller reaches the pipeline only through its thread-safe commands. What goes into `_inbox` is typed:
pipeline events (tray_client.events), history snapshots and intents (tray_client.ui.tray.intents); the controller
handles each in isolation, so one failing handler never ends the app (see controller.py). The menu reads `TrayView`, an
immutable snapshot the controller replaces whole. On X11 no connection to the X server is shared either: the
icon's loop, the controller (through tray_x11) and the hotkey grab each open their own.

Quit: the controller stops the hotkeys, then asks the pipeline to shut down with a grace period for
utterances still waiting for their final (the report says which were dropped; they are logged), then stops
the icon. The whole sequence is bounded by `QUIT_BUDGET_S`: the brief wait for finals (`QUIT_GRACE_S`)
plus at most a second of teardown (`QUIT_TEARDOWN_S`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from tray_client.config import ClientConfig
from tray_client.events import ClientState, Command, FinalText
from tray_client.hotkeys import Hotkey, HotkeyError, HotkeyListener, parse_hotkey
from tray_client.media.watch import MediaWatch, start_media_watch
from tray_client.port import PipelinePort, ShutdownReport
from tray_client.startup import report_failed_start
from tray_client.ui.tray import intents, single_instance
from tray_client.ui.tray import linux as tray_linux
from tray_client.ui.tray import win32 as tray_win32
from tray_client.ui.tray import x11 as tray_x11
from tray_client.ui.tray.icons import load_state_icon
from tray_client.ui.tray.menu import TrayView, build_menu, serialize_menu_updates
from tray_client.ui.tray.notify import Notifier
from tray_client.ui.tray.sounds import SoundPlayer

if TYPE_CHECKING:  # imported where used: the tray icon shows first, the rest (numpy, link, history) loads after it
    from tray_client.ui.tray.controller import TrayController
    from tray_client.ui.tray.features import Features

__all__ = ["QUIT_BUDGET_S", "QUIT_GRACE_S", "QUIT_TEARDOWN_S", "TrayApp", "run_tray"]

log = logging.getLogger(__name__)

APP_ID = "qwen-dictation"
QUIT_GRACE_S = 0.6
"""How long Quit waits for utterances still waiting for their final (the server answers a finished utterance
within a few hundred ms; anything later is reported as dropped, with its id, in the log)."""
QUIT_TEARDOWN_S = 1.0
"""After that wait, every thread stops within this time (typing a final that came in the wait included)."""
QUIT_BUDGET_S = QUIT_GRACE_S + QUIT_TEARDOWN_S
"""The longest Quit takes, from the request to the icon's loop ending."""
SESSION_END_FLUSH_S = 2.0
"""How long WM_QUERYENDSESSION waits for the held audio to reach the disk (Windows allows about 5 s)."""
SESSION_END_SLACK_S = 4.0
"""Beyond QUIT_BUDGET_S, how long WM_ENDSESSION waits for Quit (the pipeline's own bounds, WAVs written)."""
DEVICE_REFRESH_S = 15.0
"""The microphone menu is re-enumerated this often (and on demand), so plugged-in mics show up. While the mic
is open this reads a cached list: PortAudio is never re-initialised under an open stream (audio_source)."""

_QUIT = intents.Quit()


class TrayApp:
    """Wires the pipeline, the tray icon, the hotkeys and the controller (see the thread map above)."""

    def __init__(self, config: ClientConfig, pipeline: PipelinePort | None = None) -> None:
        self._config = config
        self._pipeline: PipelinePort | None = pipeline
        self._inbox: queue.SimpleQueue[intents.Message] = queue.SimpleQueue()  # SimpleQueue: safe from signal handlers
        self._sounds = SoundPlayer(enabled=config.sounds)
        self._notifier = Notifier(enabled=config.notifications)
        self._controller: TrayController | None = None
        self._features: Features | None = None
        self._initial_view = TrayView(server=config.server, listening=False)
        self._hotkeys: HotkeyListener | None = None
        self._media: MediaWatch | None = None  # while pause_media is on
        self._icon: Any = None  # a pystray.Icon (pystray has no type hints)
        self._icon_loop_ended = threading.Event()
        self._quit_done = threading.Event()  # the Quit sequence has run to its end (the quit line is logged)
        self._exit_code = 0

    # --- TrayActions: called on the main thread (menu) or the hotkeys thread; they only post -------------

    def view(self) -> TrayView:
        """The latest snapshot (read by the menu on the main thread)."""
        return self._controller.view if self._controller is not None else self._initial_view

    def toggle_listening(self) -> None:
        self._inbox.put(intents.ToggleListening())

    def set_mode(self, mode: str) -> None:
        self._inbox.put(intents.SetSetting("mode", mode))

    def set_output(self, output: str) -> None:
        self._inbox.put(intents.SetSetting("output", output))

    def set_language(self, language: str | None) -> None:
        self._inbox.put(intents.SetSetting("language", language))

    def set_input_device(self, device: str | None) -> None:
        self._inbox.put(intents.SetSetting("input_device", device))

    def set_sounds(self, enabled: bool) -> None:
        self._inbox.put(intents.SetSetting("sounds", enabled))

    def set_overlay(self, enabled: bool) -> None:
        self._inbox.put(intents.SetSetting("overlay", enabled))

    def refresh_devices(self) -> None:
        self._inbox.put(intents.RefreshDevices())

    def reconnect(self) -> None:
        self._inbox.put(intents.SendCommand(Command.RECONNECT))

    def copy_last_transcript(self) -> None:
        self._inbox.put(intents.CopyLast())

    def undo_last(self) -> None:
        self._inbox.put(intents.UndoLast())

    def paste_last(self) -> None:
        self._inbox.put(intents.PasteLast())

    def diagnostics(self) -> None:
        self._inbox.put(intents.ShowDiagnostics())

    def settings(self) -> None:
        self._inbox.put(intents.OpenSettings("settings"))

    def history(self) -> None:
        self._inbox.put(intents.OpenSettings("history"))

    def copy_text(self, text: str) -> None:
        self._inbox.put(intents.CopyText(text))

    def type_text(self, text: str) -> None:
        self._inbox.put(intents.TypeText(text))

    def open_config(self) -> None:
        self._inbox.put(intents.OpenConfig())

    def open_log(self) -> None:
        self._inbox.put(intents.OpenLog())

    def start_server_wsl(self) -> None:
        self._inbox.put(intents.StartServerWsl())

    def set_autostart(self, enabled: bool) -> None:
        self._inbox.put(intents.SetAutostart(enabled))

    def quit(self) -> None:
        self._inbox.put(_QUIT)

    # --- running --------------------------------------------------------------------------------------------

    def run(self) -> int:
        """Run the tray on this (the main) thread until Quit; return the process exit code."""
        if sys.platform == "win32":
            log.info("DPI awareness: %s", tray_win32.make_dpi_aware())  # before the first window exists
        backend = tray_linux.select_backend()  # before pystray's import, which picks its backend
        import pystray  # lazy: importing pystray connects to the display

        _import_keyboard_library()
        self._icon = pystray.Icon(APP_ID, load_state_icon(ClientState.OFF), "Dictation", build_menu(self))
        self._notifier.icon = self._icon
        if backend.advice:  # the icon has no menu: say so on screen, not only in the log
            self._notifier.notify(backend.advice)
        tray_x11.fix_backend(self._icon)  # before run(): it changes how the icon talks to its loop
        tray_linux.fix_gtk_backend(self._icon)
        tray_win32.fix_backend(self._icon, menu_lock=serialize_menu_updates(self._icon))
        tray_win32.watch_session_end(self._icon, on_query=self._flush_audio, on_end=self._quit_for_session_end)
        previous = _install_quit_signals(self._inbox)
        controller = None
        try:
            self._icon.run(setup=self._controller_main)
            controller = getattr(self._icon, "_setup_thread", None)
        finally:
            self._icon_loop_ended.set()
            _restore_signals(previous)
        if controller is not None and controller.is_alive():
            # Either the controller is finishing Quit, or the icon loop ended on its own (display gone):
            # then this Quit shuts the rest down the same way.
            self._inbox.put(_QUIT)
            controller.join(timeout=QUIT_BUDGET_S + 2.0)
        return self._exit_code

    def _flush_audio(self) -> None:
        """The session may end (WM_QUERYENDSESSION): make the held audio safe on disk now, without quitting."""
        if self._pipeline is not None and not self._pipeline.flush_audio(SESSION_END_FLUSH_S):
            log.warning("the held audio was not all on disk within %.1f s", SESSION_END_FLUSH_S)

    def _quit_for_session_end(self) -> None:
        """The session ends (WM_ENDSESSION, on the icon's thread): Quit, and return only once it has run, since
        Windows may end the process as soon as this returns. Quit never needs this thread (the icon's stop is a
        posted message), so waiting here cannot deadlock."""
        self._inbox.put(_QUIT)
        if not self._quit_done.wait(QUIT_BUDGET_S + SESSION_END_SLACK_S):
            log.error("quit did not finish within %.1f s of the end of the session",
                      QUIT_BUDGET_S + SESSION_END_SLACK_S)

    def _wire(self) -> tuple[TrayController, PipelinePort, Features]:
        """Build the pipeline, the controller and the features after the icon shows: their imports take most of a
        second on a loaded machine. Till then the menu reads `_initial_view` and its items post to the inbox."""
        if self._pipeline is None:  # the VAD loads beside the imports here, not after them (vad_preload.py)
            from tray_client.capture.vad_preload import VadPreload

            vad = VadPreload.start(self._config.vad)
            from tray_client.pipeline import Pipeline

            self._pipeline = Pipeline(self._config, vad=vad)
        from tray_client.ui.tray.controller import TrayController
        from tray_client.ui.tray.features import Features

        pipeline = self._pipeline
        controller = TrayController(self._config, pipeline, self._icon, self._notifier, self._sounds)
        features = Features(self._config, pipeline, self._inbox.put, self._notifier.notify,
                            controller.publish, controller.open_path)
        controller.features = features
        controller.add_handlers(features.handlers())
        from tray_client.voice_edit.session import attach_voice_edit

        attach_voice_edit(controller, features.undo.journal, pipeline, self._inbox.put, self._notifier.notify,
                          self._sounds.play)
        self._controller, self._features = controller, features
        return controller, pipeline, features

    def _controller_main(self, icon: Any) -> None:
        """The tray-controller thread: show the icon, start everything, then handle the inbox until Quit."""
        try:
            icon.visible = True
            controller, pipeline, features = self._wire()  # first: it starts the VAD's load
            from tray_client.capture.pump import starts_listening  # after the icon: it imports numpy

            controller.guarded("showing the icon", controller.publish)
            pipeline.subscribe(self._inbox.put)
            if self._config.pause_media:
                self._media = start_media_watch(pipeline, self._notifier.notify)
            controller.guarded("starting the history and overlay", features.start_before_pipeline)
            pipeline.start()
            controller.guarded("starting to listen",
                               lambda: controller.set_listening(starts_listening(self._config), chime=False))
            controller.guarded("starting the hotkeys", self._start_hotkeys)
            controller.guarded("watching the keys for undo", features.start_key_watch)
            controller.refresh_devices()
            while True:
                try:
                    message = self._inbox.get(timeout=DEVICE_REFRESH_S)
                except queue.Empty:
                    message = intents.Tick()
                if isinstance(message, intents.Quit):
                    break
                controller.handle(message)
        except Exception as error:
            log.exception("the tray controller could not start; quitting")
            if self._controller is None:  # the pipeline could not be built: a failed start, said as __main__ does
                self._exit_code = 1
                report_failed_start(f"{type(error).__name__}: {error}")
        finally:
            self._shutdown()

    def _start_hotkeys(self) -> None:
        try:
            bindings = hotkey_bindings(self._config)
            self._hotkeys = HotkeyListener(
                bindings,
                on_down=lambda name: self._inbox.put(intents.HotkeyDown(name)),
                on_up=lambda name: self._inbox.put(intents.HotkeyUp(name)),
                on_lost=lambda why: self._inbox.put(intents.HotkeysLost(why)),
            )
            self._hotkeys.start()
        except HotkeyError as error:
            self._hotkeys = None
            self._notifier.notify(f"Hotkeys are off: {error}")
        except Exception as error:  # no keyboard hook possible (Wayland, no permission)
            self._hotkeys = None
            self._notifier.notify(f"Hotkeys are off: could not watch the keyboard ({error}); use the tray icon")

    # --- quitting -------------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        started = time.monotonic()
        if self._hotkeys is not None:
            self._hotkeys.stop()
        if self._features is not None:
            self._features.stop_keys()
        if self._pipeline is not None:
            report = self._pipeline.shutdown(grace_seconds=QUIT_GRACE_S)
            _log_shutdown_report(report)
            self._drain_finals()
        if self._media is not None:
            self._media.stop()  # after the pipeline: no utterance can pause anything again
        if self._controller is not None and self._controller.voice_edit is not None:
            self._controller.voice_edit.close()
        if self._features is not None:
            self._features.close()  # after the pipeline: the finals typed in the grace period are recorded
        self._sounds.close()
        if not self._icon_loop_ended.is_set():
            self._icon.stop()
            tray_x11.wake_event_loop(self._icon, self._icon_loop_ended)
        log.info("quit took %.3f s", time.monotonic() - started)  # the desktop tests read it from the log
        self._quit_done.set()

    def _drain_finals(self) -> None:
        """Finals that arrived during the grace period only update the last transcript (already typed)."""
        with contextlib.suppress(queue.Empty):
            while True:
                message = self._inbox.get_nowait()
                if isinstance(message, FinalText) and self._controller is not None:
                    self._controller.view = dataclasses.replace(self._controller.view, last_text=message.text)


def hotkey_bindings(config: ClientConfig) -> dict[str, Hotkey]:
    """The tray's hotkeys, parsed from the settings (HotkeyError names the setting that does not parse)."""
    from tray_client.ui.tray.controller import (  # here: the controller loads after the icon shows
        HOTKEY_PASTE_LAST,
        HOTKEY_PTT,
        HOTKEY_TOGGLE,
        HOTKEY_UNDO,
        HOTKEY_VOICE_EDIT,
    )

    settings = {HOTKEY_PTT: "hotkey_push_to_talk", HOTKEY_TOGGLE: "hotkey_toggle", HOTKEY_UNDO: "hotkey_undo",
                HOTKEY_PASTE_LAST: "hotkey_paste_last", HOTKEY_VOICE_EDIT: "hotkey_voice_edit"}
    return {name: parse_hotkey(getattr(config, setting), setting) for name, setting in settings.items()}


def _log_shutdown_report(report: ShutdownReport) -> None:
    """Say whether Quit dropped utterances that were still waiting for their final (never silently)."""
    # imported here: tray_client.keep imports the protocol, which the icon does not need
    from tray_client.keep import HOW_TO_TRANSCRIBE

    if not report.clean:
        log.warning("quit: the pipeline did not stop in time; utterances still waiting for a final may be lost")
    elif report.dropped:
        log.warning("quit: %d utterance(s) still waiting for their final were dropped: %s; their audio is kept in %s"
                    " (%s)", report.dropped, ", ".join(report.dropped_ids) or "ids unknown",
                    ", ".join(report.saved) or "no file (see the errors above)", HOW_TO_TRANSCRIBE)
    else:
        log.info("quit: no utterance was dropped")


def _import_keyboard_library() -> None:
    """Import pynput's keyboard here, on the main thread, before the threads that use it start.

    The hotkeys (controller thread) and the undo key watcher import it at the same time otherwise, and Python's
    import locks then raised "deadlock detected by _ModuleLock('pynput.keyboard')" now and then: the app
    started with its hotkeys off (seen in the Windows lane under Wine)."""
    with contextlib.suppress(Exception):  # no keyboard library or no display: the hotkeys say so when they start
        import pynput.keyboard  # noqa: F401


QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))
"""SIGHUP too: a desktop session that ends (logout) hangs up on its processes; its default would end us unsaved."""


def _install_quit_signals(inbox: queue.SimpleQueue[intents.Message]) -> dict[int, Any]:
    """SIGTERM/SIGINT/SIGHUP post Quit, so `kill`, Ctrl+C and a logout end as cleanly as the menu item."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for number in QUIT_SIGNALS:
        previous[number] = signal.signal(number, lambda *_: inbox.put(_QUIT))
    if hasattr(signal, "SIGUSR1"):  # `python -m tray_client open` asks a running tray to open its window
        from tray_client.webapp.launch import requested_page

        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1,
                                                 lambda *_: inbox.put(intents.OpenSettings(requested_page())))
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def run_tray(config: ClientConfig) -> int:
    """Entry point from `python -m tray_client`: run the tray app until Quit; return the exit code.

    A second copy for the same user only says that the first runs, and exits 0 (ui/tray/single_instance.py)."""
    if single_instance.another_copy_runs():
        report_failed_start(single_instance.ALREADY_RUNNING, title="Dictation is already running")
        return 0
    from tray_client.webapp.launch import publish_pid

    publish_pid()
    return TrayApp(config).run()
