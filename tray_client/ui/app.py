"""The tray app: a pystray icon that shows the pipeline's state and lets the user drive it.

Thread map (each thread has one owner and one way in):

    thread             owner / started by          way in                         does
    ----------------   -------------------------   ----------------------------   ------------------------------
    main               run_tray                    pystray's event loop           X11/win32 tray events; a click
                                                   (icon.stop from controller)    or menu item posts an intent
    tray-controller    pystray (its setup thread)  TrayApp._inbox (SimpleQueue)   owns the TrayView, the config,
                                                                                  sounds and notifications; sends
                                                                                  Commands to the pipeline; sets
                                                                                  icon image/title; runs Quit
    pipeline (asyncio) Pipeline.start()            Pipeline.send / update_settings  mic -> VAD -> server -> typing;
                                                                                  its events are put in _inbox
    PortAudio callback Pipeline (mic source)       -                              audio into the asyncio loop
    hotkeys            HotkeyListener (pynput)     keyboard events from the OS    posts hotkey intents to _inbox
    overlay            Overlay.start()             its SimpleQueue (pipeline      owns its own Tk interpreter: the
                                                   listener + controller post)    preview window; Quit closes it
    undo-keys          KeyWatch (pynput)           keyboard events from the OS    marks "the user typed" in the
                                                                                  UndoJournal (a lock)
    x11-hotkey-grab    HotkeyListener (X11 only)   stop event                     holds the XGrabKey grabs so the
                                                                                  hotkey never reaches the app
    history            HistoryRecorder.start()     its SimpleQueue (a pipeline    owns the SQLite history; posts
                                                   listener stamps and queues)    HistorySnapshot to _inbox

Nothing mutable is shared: the pipeline, the hotkeys and the tray reach the controller only through `_inbox`;
the controller reaches the pipeline only through its thread-safe commands. The menu reads `TrayView`, an
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
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tray_client.config import ClientConfig, config_path, log_path, save_config
from tray_client.events import ClientState, Command, FinalText, Notice, PartialText, StateChanged
from tray_client.history.recorder import RECENT_COUNT, HistoryRecorder, HistorySnapshot, start_recorder
from tray_client.hotkeys import HotkeyError, HotkeyListener, parse_hotkey
from tray_client.ui import autostart, diagnostics, tray_x11
from tray_client.ui.icons import load_state_icon
from tray_client.ui.notify import Notifier
from tray_client.ui.overlay import Overlay
from tray_client.ui.sounds import SoundPlayer
from tray_client.ui.tray import TrayView, build_menu, tooltip
from tray_client.undo.desktop import KeyWatch, delete_chars, focused_window
from tray_client.undo.journal import UndoJournal, UndoRefused

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
DEVICE_REFRESH_S = 15.0
"""The microphone menu is re-enumerated this often (and on demand), so plugged-in mics show up."""

HOTKEY_PTT = "push_to_talk"
HOTKEY_TOGGLE = "toggle"
HOTKEY_UNDO = "undo"


@dataclass(frozen=True)
class _Intent:
    """A request from the menu, the hotkeys or a signal, handled on the controller thread."""

    name: str
    value: Any = None


_QUIT = _Intent("quit")
_TICK = _Intent("tick")


class TrayApp:
    """Wires the pipeline, the tray icon, the hotkeys, sounds and notifications (see the thread map above)."""

    def __init__(self, config: ClientConfig, pipeline: Any = None) -> None:
        self._config = config
        self._pipeline = pipeline
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()  # SimpleQueue: safe from signal handlers
        self._view = TrayView(
            server=config.server, mode=config.mode, output=config.output if config.output != "stdout" else "type",
            language=config.language, input_device=config.input_device, sounds=config.sounds, overlay=config.overlay,
            autostart=_safe_autostart_state(),
        )
        self._sounds = SoundPlayer(enabled=config.sounds)
        self._notifier = Notifier(enabled=config.notifications)
        self._hotkeys: HotkeyListener | None = None
        self._history: HistoryRecorder | None = None
        self._undo = UndoJournal()
        self._key_watch: KeyWatch | None = None
        self._overlay: Overlay | None = None
        self._history_entries: tuple[Any, ...] = ()  # the newest history rows (for Diagnostics)
        self._icon: Any = None
        self._icon_loop_ended = threading.Event()
        self._recording = False  # toggle mode: a TOGGLE_RECORD recording is open
        self._quit_started: float | None = None
        self.quit_seconds: float | None = None
        """How long the last Quit took, from request to the icon stopping (for the log and the tests)."""

    # --- TrayActions: called on the main thread (menu) or the hotkeys thread; they only post -------------

    def view(self) -> TrayView:
        """The latest snapshot (read by the menu on the main thread)."""
        return self._view

    def toggle_listening(self) -> None:
        self._inbox.put(_Intent("toggle_listening"))

    def set_mode(self, mode: str) -> None:
        self._inbox.put(_Intent("setting", ("mode", mode)))

    def set_output(self, output: str) -> None:
        self._inbox.put(_Intent("setting", ("output", output)))

    def set_language(self, language: str | None) -> None:
        self._inbox.put(_Intent("setting", ("language", language)))

    def set_input_device(self, device: str | None) -> None:
        self._inbox.put(_Intent("setting", ("input_device", device)))

    def set_sounds(self, enabled: bool) -> None:
        self._inbox.put(_Intent("setting", ("sounds", enabled)))

    def set_overlay(self, enabled: bool) -> None:
        self._inbox.put(_Intent("setting", ("overlay", enabled)))

    def refresh_devices(self) -> None:
        self._inbox.put(_Intent("refresh_devices"))

    def reconnect(self) -> None:
        self._inbox.put(_Intent("command", Command.RECONNECT))

    def copy_last_transcript(self) -> None:
        self._inbox.put(_Intent("copy_last"))

    def undo_last(self) -> None:
        self._inbox.put(_Intent("undo"))

    def diagnostics(self) -> None:
        self._inbox.put(_Intent("diagnostics"))

    def copy_text(self, text: str) -> None:
        self._inbox.put(_Intent("copy_text", text))

    def type_text(self, text: str) -> None:
        self._inbox.put(_Intent("type_text", text))

    def open_config(self) -> None:
        self._inbox.put(_Intent("open_config"))

    def open_log(self) -> None:
        self._inbox.put(_Intent("open_log"))

    def start_server_wsl(self) -> None:
        self._inbox.put(_Intent("start_server_wsl"))

    def set_autostart(self, enabled: bool) -> None:
        self._inbox.put(_Intent("autostart", enabled))

    def quit(self) -> None:
        self._inbox.put(_QUIT)

    # --- running --------------------------------------------------------------------------------------------

    def run(self) -> int:
        """Run the tray on this (the main) thread until Quit; return the process exit code."""
        import pystray  # lazy: importing pystray connects to the display

        if self._pipeline is None:
            from tray_client.pipeline import Pipeline

            self._pipeline = Pipeline(self._config)
        self._icon = pystray.Icon(APP_ID, load_state_icon(ClientState.OFF), "Dictation", build_menu(self))
        self._notifier.icon = self._icon
        tray_x11.fix_backend(self._icon)  # before run(): it changes how the icon talks to its loop
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
        return 0

    def _controller_main(self, icon: Any) -> None:
        """The tray-controller thread: start everything, then handle the inbox until Quit."""
        try:
            icon.visible = True
            self._publish()
            self._start_pipeline()
            self._set_listening(self._config.start_listening, chime=False)
            self._start_hotkeys()
            self._start_key_watch()
            self._refresh_devices()
            while True:
                try:
                    message = self._inbox.get(timeout=DEVICE_REFRESH_S)
                except queue.Empty:
                    message = _TICK
                if message is _QUIT or message == _QUIT:
                    break
                self._handle(message)
        except Exception:
            log.exception("the tray controller failed; quitting")
        finally:
            self._shutdown()

    def _start_overlay(self) -> None:
        """The overlay's own thread (see overlay.py); it hears the pipeline directly, partials included."""
        if self._overlay is None:
            self._overlay = Overlay()
            self._overlay.start()
            self._pipeline.subscribe(self._overlay.post)
        self._overlay.set_enabled(True)

    def _start_pipeline(self) -> None:
        if self._config.overlay:
            self._start_overlay()
        self._pipeline.subscribe(self._inbox.put)
        self._history = start_recorder(self._config, self._pipeline, on_snapshot=self._inbox.put)
        self._history.refresh()
        self._pipeline.start()

    def _start_key_watch(self) -> None:
        """Undo needs to know whether the user typed since a final; without the watch it refuses to act."""
        try:
            self._key_watch = KeyWatch(self._undo)
            self._key_watch.start()
        except Exception as error:
            self._key_watch = None
            self._undo.blind(f"the keyboard cannot be watched ({error})")

    def _start_hotkeys(self) -> None:
        try:
            bindings = {
                HOTKEY_PTT: parse_hotkey(self._config.hotkey_push_to_talk, "hotkey_push_to_talk"),
                HOTKEY_TOGGLE: parse_hotkey(self._config.hotkey_toggle, "hotkey_toggle"),
                HOTKEY_UNDO: parse_hotkey(self._config.hotkey_undo, "hotkey_undo"),
            }
            self._hotkeys = HotkeyListener(
                bindings,
                on_down=lambda name: self._inbox.put(_Intent("hotkey_down", name)),
                on_up=lambda name: self._inbox.put(_Intent("hotkey_up", name)),
            )
            self._hotkeys.start()
        except HotkeyError as error:
            self._hotkeys = None
            self._notifier.notify(f"Hotkeys are off: {error}")
        except Exception as error:  # no keyboard hook possible (Wayland, no permission)
            self._hotkeys = None
            self._notifier.notify(f"Hotkeys are off: could not watch the keyboard ({error}); use the tray icon")

    # --- the controller's handlers ------------------------------------------------------------------------

    def _handle(self, message: Any) -> None:
        if isinstance(message, StateChanged):
            self._on_state(message)
        elif isinstance(message, FinalText):
            self._publish(last_text=message.text)
            if self._pipeline.config.output != "stdout":
                self._undo.typed(message.typed, focused_window(), time.monotonic())
        elif isinstance(message, Notice):
            if message.level in ("warning", "error"):
                self._notifier.notify(message.message)
        elif isinstance(message, PartialText):
            pass  # the tooltip shows finals only: partials change too fast to read there
        elif isinstance(message, HistorySnapshot):
            self._publish(recent=tuple(entry.text for entry in message.recent[:RECENT_COUNT]),
                          today_p50_s=message.today_p50_s, last_latency_s=message.last_latency_s)
            if self._overlay is not None:
                self._overlay.latency(message.last_latency_s)
            self._history_entries = message.recent
        elif isinstance(message, _Intent):
            self._on_intent(message)

    def _on_state(self, event: StateChanged) -> None:
        previous = self._view.state
        if event.state is not previous:
            self._icon.icon = load_state_icon(event.state)  # the image first: the title then says it is shown
        self._publish(state=event.state, detail=event.detail)
        if event.state is ClientState.ERROR and event.detail and event.state is not previous:
            self._notifier.notify(event.detail)
        if event.state is ClientState.DISCONNECTED and previous is not ClientState.DISCONNECTED:
            self._notifier.notify(f"Cannot reach the server at {self._config.server}; audio is kept and "
                                  "sent when it is back. Start the server or check the address.")
        log.info("state %s%s", event.state.value, f" ({event.detail})" if event.detail else "")

    def _on_intent(self, intent: _Intent) -> None:
        name = intent.name
        if name == "toggle_listening":
            self._set_listening(not self._view.listening)
        elif name == "hotkey_down":
            self._on_hotkey(intent.value, down=True)
        elif name == "hotkey_up":
            self._on_hotkey(intent.value, down=False)
        elif name == "command":
            self._pipeline.send(intent.value)
        elif name == "setting":
            self._change_setting(*intent.value)
        elif name in ("refresh_devices", "tick"):
            self._refresh_devices()
        elif name == "copy_last":
            _copy_to_clipboard(self._view.last_text)
        elif name == "diagnostics":
            self._start_diagnostics()
        elif name == "diagnostics_written":
            self._notifier.notify(f"Diagnostics written to {intent.value}")
            self._open(intent.value)
        elif name == "undo":
            self._undo_last()
        elif name == "undone":
            self._undo.done(intent.value)
        elif name == "copy_text":
            _copy_to_clipboard(intent.value)
        elif name == "type_text":
            self._type_again(intent.value)
        elif name == "open_config":
            path = Path(self._config.config_file) if self._config.config_file else config_path()
            if not path.exists():
                save_config(self._config, path)
            self._open(path)
        elif name == "open_log":
            self._open(log_path())
        elif name == "start_server_wsl":
            self._start_server_wsl()
        elif name == "autostart":
            self._set_autostart(bool(intent.value))

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
                self._inbox.put(Notice("error", f"Diagnostics could not be written: {error}"))
                return
            self._inbox.put(_Intent("diagnostics_written", path))

        threading.Thread(target=work, name="diagnostics", daemon=True).start()

    def _undo_last(self) -> None:
        """Delete what the last final typed, or say why not (see tray_client.undo.journal)."""
        plan = self._undo.plan(focused_window())
        if isinstance(plan, UndoRefused):
            log.info("undo: %s", plan.reason)
            self._notifier.notify(plan.reason)
            return

        def report(done: Any) -> None:  # on the output thread: only post
            if done.exception() is not None:
                self._inbox.put(Notice("error", f"Undo failed: {done.exception()}"))
            else:
                self._inbox.put(_Intent("undone", plan))

        log.info("undo: deleting %d character(s)", plan.count)
        self._pipeline.run_output(lambda sink: delete_chars(sink, plan.count)).add_done_callback(report)

    def _type_again(self, text: str) -> None:
        """Type a Recent entry into the focused window, on the output thread (after any final being typed)."""
        def report(done: Any) -> None:  # on the output thread: only post
            if done.exception() is not None:
                self._inbox.put(Notice("error", f"could not type the entry again ({done.exception()})"))

        self._pipeline.run_output(lambda sink: sink.emit(text)).add_done_callback(report)

    def _set_listening(self, on: bool, *, chime: bool = True) -> None:
        log.info("listening %s", "on" if on else "off")
        self._pipeline.send(Command.LISTEN_ON if on else Command.LISTEN_OFF)
        self._publish(listening=on)
        if chime:
            self._sounds.play("start" if on else "stop")

    def _on_hotkey(self, name: str, *, down: bool) -> None:
        if name == HOTKEY_PTT:
            self._pipeline.send(Command.PTT_DOWN if down else Command.PTT_UP)
            self._sounds.play("start" if down else "stop")
        elif name == HOTKEY_UNDO and not down:
            # On release: while the keys are down X11's passive grab sends every key, our Backspaces too, to
            # the grabbing client instead of the focused window.
            self._undo_last()
        elif name == HOTKEY_TOGGLE and down:
            if self._view.mode == "toggle":
                self._pipeline.send(Command.TOGGLE_RECORD)
                self._recording = not self._recording
                self._sounds.play("start" if self._recording else "stop")
            else:
                self._set_listening(not self._view.listening)

    def _change_setting(self, key: str, value: Any) -> None:
        from tray_client.config import replace

        try:
            self._config = replace(self._config, **{key: value})
        except ValueError as error:
            self._notifier.notify(str(error))
            return
        if key == "sounds":
            self._sounds.enabled = bool(value)
        elif key == "overlay":
            if value:
                self._start_overlay()
            elif self._overlay is not None:
                self._overlay.set_enabled(False)
        else:
            self._pipeline.update_settings(**{key: value})
        if key == "mode":
            self._recording = False
        self._publish(**{key: value})
        try:
            save_config(self._config)
        except OSError as error:
            log.warning("could not save the setting %s: %s", key, error)

    def _refresh_devices(self) -> None:
        from tray_client.capture.audio_source import list_input_devices

        try:
            devices = tuple(list_input_devices())
        except Exception as error:  # PortAudio can fail while a device is being plugged in
            log.debug("could not list input devices: %s", error)
            return
        if devices != self._view.devices:
            self._publish(devices=devices)
            self._icon.update_menu()

    def _set_autostart(self, enabled: bool) -> None:
        try:
            autostart.set_enabled(enabled)
        except autostart.AutostartError as error:
            self._notifier.notify(str(error))
        self._publish(autostart=_safe_autostart_state())

    def _start_server_wsl(self) -> None:
        script = Path(__file__).resolve().parents[2] / "scripts" / "start_server_wsl.ps1"
        if sys.platform != "win32" or not script.is_file():
            self._notifier.notify(f"Starting the server in WSL needs Windows and {script}")
            return
        subprocess.Popen(
            ["powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", str(script)],
            creationflags=getattr(subprocess, "CREATE_NEW_CONSOLE", 0),
        )

    def _open(self, path: Path) -> None:
        if not _open_in_desktop(path):
            self._notifier.notify(f"Open this file yourself: {path}")

    def _publish(self, **changes: Any) -> None:
        """Replace the view snapshot and refresh the tooltip (the icon image is set by _on_state)."""
        self._view = dataclasses.replace(self._view, **changes)
        if self._icon is not None:
            self._icon.title = tray_x11.title_for_backend(self._icon, tooltip(self._view))

    # --- quitting -------------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        started = time.monotonic()
        if self._hotkeys is not None:
            self._hotkeys.stop()
        if self._key_watch is not None:
            self._key_watch.stop()
        if self._pipeline is not None:
            report = self._pipeline.shutdown(grace_seconds=QUIT_GRACE_S)
            _log_shutdown_report(report)
            self._drain_finals()
        if self._history is not None:
            self._history.close()  # after the pipeline: the finals typed in the grace period are recorded
        self._sounds.close()
        if self._overlay is not None:
            self._overlay.close()
        if not self._icon_loop_ended.is_set():
            self._icon.stop()
            tray_x11.wake_event_loop(self._icon, self._icon_loop_ended)
        self.quit_seconds = time.monotonic() - started
        log.info("quit took %.3f s", self.quit_seconds)

    def _drain_finals(self) -> None:
        """Finals that arrived during the grace period only update the last transcript (already typed)."""
        with contextlib.suppress(queue.Empty):
            while True:
                message = self._inbox.get_nowait()
                if isinstance(message, FinalText):
                    self._view = dataclasses.replace(self._view, last_text=message.text)


def _log_shutdown_report(report: Any) -> None:
    """Say whether Quit dropped utterances that were still waiting for their final (never silently)."""
    if not getattr(report, "clean", True):
        log.warning("quit: the pipeline did not stop in time; utterances still waiting for a final may be lost")
    elif report.dropped:
        log.warning("quit: %d utterance(s) still waiting for their final were dropped: %s", report.dropped,
                    ", ".join(report.dropped_ids) or "ids unknown")
    else:
        log.info("quit: no utterance was dropped")


def _safe_autostart_state() -> bool:
    try:
        return autostart.is_enabled()
    except OSError:
        return False


def _install_quit_signals(inbox: queue.SimpleQueue[Any]) -> dict[int, Any]:
    """SIGTERM/SIGINT post Quit, so `kill` and Ctrl+C end as cleanly as the menu item."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for number in (signal.SIGTERM, signal.SIGINT):
        previous[number] = signal.signal(number, lambda *_: inbox.put(_QUIT))
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def _open_in_desktop(path: Path) -> bool:
    """Open a file with the desktop's default application; False when there is no way to."""
    if not path.exists():
        return False
    if sys.platform == "win32":
        os.startfile(str(path))  # type: ignore[attr-defined]
        return True
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    if shutil.which(opener) is None:
        return False
    subprocess.Popen([opener, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def _copy_to_clipboard(text: str) -> None:
    """Put `text` on the clipboard (the output module's clipboard backends do the platform work)."""
    if not text:
        return
    from tray_client.sinks import typing_backends

    try:
        if sys.platform == "win32":
            typing_backends.WindowsClipboardPaster()._set(text)
        else:
            typing_backends.X11ClipboardPaster._set(text)
    except Exception as error:
        log.warning("could not copy the last transcript: %s", error)


def run_tray(config: ClientConfig) -> int:
    """Entry point from `python -m tray_client`: run the tray app until Quit; return the exit code."""
    return TrayApp(config).run()
