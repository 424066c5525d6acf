"""The tray controller: handles pipeline events and typed intents on its own thread, one message at a time.

Each message is handled in isolation: an exception in one handler is logged with its traceback and shown as a
notification, and the controller goes on with the next message. (Before, any handler error quit the app: a
150-character final ending in emoji made the tooltip raise, found under Wine.)

The controller owns the `TrayView` snapshot, the config, sounds and notifications, and talks to the icon only
through `IconSurface`: the image, the tooltip title and `update_menu()`. pystray draws menu check marks from
the view when the menu is built, and on Windows the native menu is only rebuilt by `update_menu()`; so every
change to what the menu shows calls it (stale check marks were seen under Wine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tray_client.config import ClientConfig, config_path, log_path, replace, save_config
from tray_client.events import (
    ClientState,
    Command,
    FinalText,
    Notice,
    PartialText,
    SpeechSegment,
    StateChanged,
)
from tray_client.link.driver import NOT_CONNECTED_YET
from tray_client.port import PipelinePort, SettingValue
from tray_client.ui.settings import autostart
from tray_client.ui.tray import _desktop, intents
from tray_client.ui.tray import x11 as tray_x11
from tray_client.ui.tray.icons import load_state_icon
from tray_client.ui.tray.menu import TrayView, tooltip
from tray_client.ui.tray.notify import Notifier
from tray_client.ui.tray.sounds import SoundPlayer

if TYPE_CHECKING:
    from tray_client.ui.tray.features import Features
    from tray_client.voice_edit.session import VoiceEdit

__all__ = ["HOTKEY_PASTE_LAST", "HOTKEY_PTT", "HOTKEY_TOGGLE", "HOTKEY_UNDO", "HOTKEY_VOICE_EDIT", "MENU_FIELDS", "IconSurface", "TrayController"]

log = logging.getLogger(__name__)

HOTKEY_PTT = "push_to_talk"
HOTKEY_TOGGLE = "toggle"
HOTKEY_UNDO = "undo"
HOTKEY_PASTE_LAST = "paste_last"
HOTKEY_VOICE_EDIT = "voice_edit"
MENU_FIELDS = frozenset({"listening", "mode", "output", "language", "input_device", "devices", "autostart",
                         "sounds", "last_text", "overlay", "recent", "today_p50_s", "tray_left_click"})
"""TrayView fields the menu shows (check marks, radio items, the microphone list, Copy's enabled state)."""
VIEW_FIELDS = frozenset(field.name for field in dataclasses.fields(TrayView))


class IconSurface(Protocol):
    """What the controller changes on the tray icon (a pystray.Icon)."""

    icon: Any
    title: str

    def update_menu(self) -> None: ...


class TrayController:
    """Turns pipeline events and intents into icon, menu, sound and notification changes and pipeline commands."""

    def __init__(self, config: ClientConfig, pipeline: PipelinePort, icon: IconSurface, notifier: Notifier,
                 sounds: SoundPlayer, *, list_devices: Callable[[], list[str]] | None = None,
                 features: Features | None = None) -> None:
        self.config = config
        self.features = features  # ui.tray.features: history, undo, preview, settings, diagnostics (None in unit tests)
        self.voice_edit: VoiceEdit | None = None  # set by voice_edit.session.attach_voice_edit (None in unit tests)
        self._pipeline = pipeline
        self._icon = icon
        self._notifier = notifier
        self._sounds = sounds
        self._list_devices = list_devices or _list_input_devices
        self._recording = False  # toggle mode: a TOGGLE_RECORD recording is open
        self._told_unreachable = False  # the unreachable-server notification was shown for this outage
        self.view = TrayView(
            server=config.server, mode=config.mode, output=config.output if config.output != "stdout" else "type",
            language=config.language, input_device=config.input_device, sounds=config.sounds, overlay=config.overlay,
            autostart=_safe_autostart_state(), tray_left_click=config.tray_left_click,
        )
        self._handlers: dict[type, intents.Handler] = {
            StateChanged: self._on_state,
            FinalText: self._on_final,
            Notice: self._on_notice,
            PartialText: lambda _event: None,  # the tooltip shows finals only: partials change too fast to read
            SpeechSegment: lambda _event: None,  # diagnostics for the history recorder, which hears it itself
            intents.ToggleListening: lambda _i: self.set_listening(not self.view.listening),
            intents.SetSetting: lambda i: self._change_setting(i.key, i.value, save=i.save),
            intents.SendCommand: lambda i: self._pipeline.send(i.command),
            intents.RefreshDevices: lambda _i: self.refresh_devices(),
            intents.Tick: lambda _i: self.refresh_devices(),
            intents.CopyLast: lambda _i: _desktop.copy_to_clipboard(self.view.last_text),
            intents.PasteLast: lambda _i: self._paste_last(),
            intents.OpenConfig: lambda _i: self._open_config(),
            intents.OpenLog: lambda _i: self.open_path(log_path()),
            intents.StartServerWsl: lambda _i: self._say(_desktop.start_server_wsl()),
            intents.SetAutostart: lambda i: self._set_autostart(i.enabled),
            intents.HotkeyDown: lambda i: self._on_hotkey(i.name, down=True),
            intents.HotkeyUp: lambda i: self._on_hotkey(i.name, down=False),
            intents.HotkeysLost: lambda i: self._say(f"Hotkeys are off: {i.why}; use the tray icon"),
        }
        if features is not None:
            self.add_handlers(features.handlers())

    def add_handlers(self, handlers: dict[type, intents.Handler]) -> None:
        """Handle more message types (a feature's own intents, see ui/tray/features.py)."""
        self._handlers.update(handlers)

    def handle(self, message: intents.Message) -> None:
        """Handle one event or intent; a failure is logged and shown, never raised (see the module doc)."""
        handler = self._handlers.get(type(message))
        if handler is None:
            log.debug("the tray controller ignores %r", message)
            return
        self.guarded(type(message).__name__, lambda: handler(message))

    def guarded(self, what: str, action: Callable[[], None]) -> None:
        """Run `action`; on an exception log it and tell the user, then return."""
        try:
            action()
        except Exception as error:
            log.exception("the tray could not handle %s", what)
            with contextlib.suppress(Exception):
                self._notifier.notify(f"Something went wrong ({what}: {error}); the app goes on. Details are "
                                      "in the log (tray menu: Open log).")

    def publish(self, **changes: Any) -> None:
        """Replace the view snapshot, refresh the tooltip, and rebuild the menu if it shows what changed."""
        previous = self.view
        self.view = dataclasses.replace(previous, **changes)
        self._icon.title = tray_x11.title_for_backend(self._icon, tooltip(self.view))
        if any(getattr(previous, name) != getattr(self.view, name) for name in MENU_FIELDS & changes.keys()):
            self._icon.update_menu()

    def set_listening(self, on: bool, *, chime: bool = True) -> None:
        """Listening on/off, from the menu, the toggle hotkey or the start."""
        log.info("listening %s", "on" if on else "off")
        self._pipeline.send(Command.LISTEN_ON if on else Command.LISTEN_OFF)
        self.publish(listening=on)
        if chime:
            self._sounds.play("start" if on else "stop")

    def refresh_devices(self) -> None:
        """Enumerate the microphones; the menu is rebuilt only when the list changed."""
        try:
            devices = tuple(self._list_devices())
        except Exception as error:  # PortAudio can fail while a device is being plugged in
            log.debug("could not list input devices: %s", error)
            return
        if devices != self.view.devices:
            self.publish(devices=devices)

    def _on_state(self, event: StateChanged) -> None:
        previous = self.view.state
        if event.state is not previous:
            self._icon.icon = load_state_icon(event.state)  # the image first: the title then says it is shown
        self.publish(state=event.state, detail=event.detail)
        if event.state is ClientState.ERROR and event.detail and event.state is not previous:
            self._notifier.notify(event.detail)
        # Tell once per outage, and only after an attempt failed: at every start the link is "not connected
        # yet" for a moment, and saying "cannot reach the server" then was wrong (seen in the Windows lane).
        if event.state is not ClientState.DISCONNECTED:
            self._told_unreachable = False
        elif event.detail != NOT_CONNECTED_YET and not self._told_unreachable:
            self._told_unreachable = True
            self._notifier.notify(f"Cannot reach the server at {self.config.server}; audio is kept and "
                                  "sent when it is back. Start the server, or use another one: "
                                  "Settings… → Server URL.")
        log.info("state %s%s", event.state.value, f" ({event.detail})" if event.detail else "")

    def _on_final(self, event: FinalText) -> None:
        self.publish(last_text=event.text)
        if self.features is not None:
            self.features.on_final(event)

    def _on_notice(self, notice: Notice) -> None:
        if notice.level in ("warning", "error"):
            self._notifier.notify(notice.message)

    def _on_hotkey(self, name: str, *, down: bool) -> None:
        if name == HOTKEY_PTT:
            if down and self._disarmed("ptt"):
                return
            self._pipeline.send(Command.PTT_DOWN if down else Command.PTT_UP)
            self._sounds.play("start" if down else "stop")
        elif name == HOTKEY_UNDO and not down and self.features is not None:
            # On release: while the keys are down X11's passive grab sends every key, our Backspaces too, to
            # the grabbing client instead of the focused window.
            self.features.undo_last()
        elif name == HOTKEY_PASTE_LAST and not down:  # on release, for the same reason as undo
            self._paste_last()
        elif name == HOTKEY_VOICE_EDIT and not down and self.voice_edit is not None:  # on release: it copies
            self.voice_edit.hotkey()
        elif name == HOTKEY_TOGGLE and down:
            if self.view.mode == "toggle":
                if not self._recording and self._disarmed("toggle"):
                    return
                self._pipeline.send(Command.TOGGLE_RECORD)
                self._recording = not self._recording
                self._sounds.play("start" if self._recording else "stop")
            else:  # VAD mode: listening on/off; push-to-talk mode: the push-to-talk key armed or not
                self.set_listening(not self.view.listening)

    def _disarmed(self, mode: str) -> bool:
        """In push-to-talk / toggle mode with listening off the hotkey does nothing (the mic is closed): say so."""
        if self.view.mode != mode or self.view.listening:
            return False
        self._notifier.notify("Listening is off, so the hotkey records nothing. Press the toggle hotkey "
                              f"({self.config.hotkey_toggle}) or tick Listening in the tray menu to turn it on.")
        return True

    def _paste_last(self) -> None:
        """Type the last transcript where the user is now (Paste last)."""
        if self.features is not None:
            self.features.type_again(self.view.last_text)

    def _change_setting(self, key: str, value: SettingValue, *, save: bool = True) -> None:
        try:
            self.config = replace(self.config, **{key: value})
        except ValueError as error:
            self._notifier.notify(str(error))
            return
        if key == "sounds":
            self._sounds.enabled = bool(value)
        elif key == "tray_left_click":
            pass  # the menu reads it from the view (published below)
        elif key == "overlay":
            if self.features is not None:
                value = self.features.set_overlay(bool(value))  # off when it cannot be shown (no Tk)
        else:
            self._pipeline.update_settings(**{key: value})
        if key == "mode":
            self._recording = False
        if key in VIEW_FIELDS:  # the token or the replacements are settings the menu does not show
            self.publish(**{key: value})
        if not save:
            return
        try:
            save_config(self.config)
        except OSError as error:
            log.warning("could not save the setting %s: %s", key, error)

    def _set_autostart(self, enabled: bool) -> None:
        try:
            autostart.set_enabled(enabled)
        except autostart.AutostartError as error:
            self._notifier.notify(str(error))
        self.publish(autostart=_safe_autostart_state())

    def _open_config(self) -> None:
        path = Path(self.config.config_file) if self.config.config_file else config_path()
        if not path.exists():
            save_config(self.config, path)
        self.open_path(path)

    def open_path(self, path: Path) -> None:
        """Open a file in the desktop's application for it, or tell the user where it is."""
        if not _desktop.open_in_desktop(path):
            self._notifier.notify(f"Open this file yourself: {path}")

    def _say(self, message: str | None) -> None:
        if message:
            self._notifier.notify(message)


def _list_input_devices() -> list[str]:
    from tray_client.capture.audio_source import list_input_devices

    return list_input_devices()


def _safe_autostart_state() -> bool:
    try:
        return autostart.is_enabled()
    except OSError:
        return False
