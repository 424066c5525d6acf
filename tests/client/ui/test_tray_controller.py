"""The tray controller against a stand-in pipeline and icon: typed intents, isolation of failures, what the
icon may be given (Windows' UTF-16 caps), and when the menu is rebuilt."""

from __future__ import annotations

import concurrent.futures
import threading
import typing
from collections.abc import Callable
from typing import TypeVar

import pytest

from tray_client.config import ClientConfig
from tray_client.events import ClientState, Command, FinalText, Notice, PipelineEvent, StateChanged
from tray_client.link.driver import NOT_CONNECTED_YET
from tray_client.port import SettingValue, ShutdownReport, VoiceUndo
from tray_client.sinks import TextSink
from tray_client.text.dispatch import InstructionTaker
from tray_client.text.writer import Written
from tray_client.ui.tray import intents
from tray_client.ui.tray._desktop import wsl_server_command
from tray_client.ui.tray._fit import NOTIFY_MESSAGE_MAX, TOOLTIP_MAX, utf16_units
from tray_client.ui.tray.controller import TrayController
from tray_client.ui.tray.features import Features
from tray_client.ui.tray.menu import serialize_menu_updates
from tray_client.ui.tray.notify import Notifier
from tray_client.ui.tray.sounds import SoundPlayer

T = TypeVar("T")


class StandInPipeline:
    """A PipelinePort without a thread or audio: records what the tray asks of the pipeline."""

    def __init__(self, config: ClientConfig | None = None) -> None:
        self._config = config or ClientConfig()
        self.sent: list[Command] = []
        self.settings: list[dict[str, SettingValue]] = []
        self.listeners: list[Callable[[PipelineEvent], None]] = []
        self.retyped: list[str] = []
        self.undos = 0
        self.voice_undo: VoiceUndo | None = None
        self.taker: InstructionTaker | None = None
        self.started = False

    @property
    def config(self) -> ClientConfig:
        return self._config

    def subscribe(self, listener: Callable[[PipelineEvent], None]) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        self.started = True

    def send(self, command: Command) -> None:
        self.sent.append(command)

    def update_settings(self, **changes: SettingValue) -> None:
        self.settings.append(changes)

    def run_output(self, job: Callable[[TextSink], T]) -> concurrent.futures.Future[T]:
        return concurrent.futures.Future()  # queued behind the finals: not run here

    def retype(self, text: str) -> concurrent.futures.Future[Written]:
        self.retyped.append(text)
        return concurrent.futures.Future()  # still typing: no report yet

    def undo_last(self) -> concurrent.futures.Future[str]:
        self.undos += 1
        return concurrent.futures.Future()

    def use_undo(self, undo: VoiceUndo) -> None:
        self.voice_undo = undo

    def use_instructions(self, taker: InstructionTaker) -> None:
        self.taker = taker

    def flush_audio(self, timeout: float) -> bool:
        return True

    def shutdown(self, grace_seconds: float = 1.0) -> ShutdownReport:
        return ShutdownReport(0)


class Win32LikeIcon:
    """Behaves like pystray's win32 icon where it matters: ctypes refuses a title or notification that does not
    fit NOTIFYICONDATAW's WCHAR arrays (szTip[128], szInfo[256], szInfoTitle[64]) with ValueError."""

    HAS_NOTIFICATION = True

    def __init__(self) -> None:
        self._title = ""
        self.icon = None
        self.menu_updates = 0
        self.notifications: list[tuple[str, str]] = []

    @property
    def title(self) -> str:
        return self._title

    @title.setter
    def title(self, text: str) -> None:
        if utf16_units(text) >= 128:
            raise ValueError("string too long")
        self._title = text

    def update_menu(self) -> None:
        self.menu_updates += 1

    def notify(self, message: str, title: str) -> None:
        if utf16_units(message) >= 256 or utf16_units(title) >= 64:
            raise ValueError("string too long")
        self.notifications.append((message, title))


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr("tray_client.ui.tray.controller._safe_autostart_state", lambda: False)
    icon = Win32LikeIcon()
    pipeline = StandInPipeline()
    config = ClientConfig(config_file=str(tmp_path / "config.toml"))
    notifier = Notifier(icon, repeat_after_s=0.0)
    controller = TrayController(config, pipeline, icon, notifier, SoundPlayer(enabled=False),
                                list_devices=lambda: ["USB Mic"])
    return controller, icon, pipeline


def test_every_intent_type_has_a_handler(app):
    controller, _, pipeline = app
    controller.add_handlers(Features(controller.config, pipeline, print, print, controller.publish, print).handlers())
    for intent_type in typing.get_args(intents.Intent):
        if intent_type is not intents.Quit:  # Quit ends the loop in TrayApp, before the controller
            assert intent_type in controller._handlers, intent_type


def test_a_long_final_ending_in_emoji_fits_the_tooltip(app):
    controller, icon, _ = app
    text = "字" * 140 + "🎉🎉"  # 150 characters, more than 128 UTF-16 units
    controller.handle(FinalText("u1", text))
    assert controller.view.last_text == text
    assert 0 < utf16_units(icon.title) <= TOOLTIP_MAX
    assert icon.title.endswith("🎉🎉”")


def test_a_long_notification_is_shortened_not_dropped(app):
    controller, icon, _ = app
    message = "the microphone failed: " + "é😀" * 200  # 445 characters
    controller.handle(Notice("error", message))
    assert len(icon.notifications) == 1
    shown, _title = icon.notifications[0]
    assert utf16_units(shown) <= NOTIFY_MESSAGE_MAX and shown.startswith("the microphone failed: ")


def test_the_server_is_called_unreachable_once_per_outage_and_not_at_start(app):
    controller, icon, _ = app
    unreachable = [ClientState.DISCONNECTED, "cannot reach ws://127.0.0.1:8765: refused"]
    for state, detail in [(ClientState.DISCONNECTED, NOT_CONNECTED_YET), (ClientState.LISTENING, ""),
                          (ClientState.DISCONNECTED, NOT_CONNECTED_YET)]:
        controller.handle(StateChanged(state, detail))
    assert icon.notifications == []  # every start is "not connected yet" for a moment
    controller.handle(StateChanged(*unreachable))
    controller.handle(StateChanged(ClientState.DISCONNECTED, "cannot reach ws://127.0.0.1:8765: timed out"))
    controller.handle(StateChanged(ClientState.LISTENING, ""))
    controller.handle(StateChanged(*unreachable))
    assert [message.startswith("Cannot reach the server") for message, _ in icon.notifications] == [True, True]


def test_a_failing_handler_is_shown_and_the_next_message_is_handled(app, caplog):
    controller, icon, pipeline = app

    def broken(_intent: object) -> None:
        raise RuntimeError("the clipboard exploded")

    controller._handlers[intents.CopyLast] = broken
    controller.handle(intents.CopyLast())
    controller.handle(intents.ToggleListening())
    assert pipeline.sent == [Command.LISTEN_ON]
    assert any("the clipboard exploded" in message for message, _ in icon.notifications)
    assert "the tray could not handle CopyLast" in caplog.text


def test_the_menu_is_rebuilt_when_what_it_shows_changes(app):
    controller, icon, pipeline = app
    controller.handle(StateChanged(ClientState.LISTENING))
    assert icon.menu_updates == 0  # the state is in the icon and tooltip, not the menu
    controller.handle(intents.ToggleListening())
    assert icon.menu_updates == 1 and controller.view.listening
    controller.handle(intents.HotkeyDown("toggle"))  # listening off by the hotkey: the check mark follows
    assert icon.menu_updates == 2 and not controller.view.listening
    controller.handle(intents.SetSetting("mode", "ptt"))
    assert icon.menu_updates == 3 and pipeline.settings == [{"mode": "ptt"}]
    controller.handle(intents.RefreshDevices())
    assert icon.menu_updates == 4 and controller.view.devices == ("USB Mic",)
    controller.handle(intents.RefreshDevices())  # same list: nothing to rebuild
    assert icon.menu_updates == 4


def test_the_wsl_server_window_stays_open_when_the_server_fails(tmp_path):
    command = wsl_server_command(tmp_path / "start_server_wsl.ps1")
    assert "-NoExit" in command and command.index("-NoExit") < command.index("-File")


class _RacyIcon:
    """pystray's menu rebuild: read the view, build, store. `_update_menu` runs on whichever thread calls it."""

    def __init__(self, view: dict) -> None:
        self.view = view
        self.stored: bool | None = None
        self.first_read = threading.Event()
        self.first_may_store = threading.Event()
        self.builds = 0

    def _update_menu(self) -> None:
        self.builds += 1
        checked = self.view["listening"]
        if self.builds == 1:  # pystray's own rebuild after a left click: it read the old view
            self.first_read.set()
            self.first_may_store.wait(5)
        self.stored = checked


def test_a_stale_menu_rebuild_never_lands_after_the_fresh_one():
    """pystray rebuilds the menu on the icon thread right after a click's action, while our controller rebuilds it
    on its own thread once the view changed; the rebuild that read the old view must not be stored last (the
    Listening check mark stayed off under Wine)."""
    view = {"listening": False}
    icon = _RacyIcon(view)
    serialize_menu_updates(icon)
    icon_thread = threading.Thread(target=icon._update_menu)
    icon_thread.start()
    assert icon.first_read.wait(5)
    view["listening"] = True  # the controller handled the click
    controller_thread = threading.Thread(target=icon._update_menu)
    controller_thread.start()
    # Without the lock the controller's rebuild finishes here, before the stale one is stored; with it, it waits.
    controller_thread.join(0.5)
    icon.first_may_store.set()
    icon_thread.join(5)
    controller_thread.join(5)
    assert icon.stored is True


def test_in_push_to_talk_mode_the_toggle_hotkey_arms_the_key_and_a_disarmed_key_says_so(app):
    controller, icon, pipeline = app
    controller.handle(intents.SetSetting("mode", "ptt"))
    controller.set_listening(True, chime=False)  # the app starts armed in push-to-talk mode
    pipeline.sent.clear()
    controller.handle(intents.HotkeyDown("toggle"))  # disarm
    assert pipeline.sent == [Command.LISTEN_OFF] and not controller.view.listening
    controller.handle(intents.HotkeyDown("push_to_talk"))
    controller.handle(intents.HotkeyUp("push_to_talk"))
    assert pipeline.sent == [Command.LISTEN_OFF, Command.PTT_UP]  # no recording opened
    assert any("Listening is off, so the hotkey records nothing" in message for message, _ in icon.notifications)
    controller.handle(intents.HotkeyDown("toggle"))  # armed again: the key records
    controller.handle(intents.HotkeyDown("push_to_talk"))
    assert pipeline.sent[-2:] == [Command.LISTEN_ON, Command.PTT_DOWN]


def test_paste_last_types_the_last_transcript_on_the_hotkeys_release_and_from_the_menu(app, tmp_path):
    from tray_client.ui.tray.controller import HOTKEY_PASTE_LAST

    controller, icon, pipeline = app
    controller.features = Features(controller.config, pipeline, print,
                                   lambda message: icon.notifications.append((message, "")), controller.publish, print)
    controller.add_handlers(controller.features.handlers())
    controller.handle(intents.PasteLast())
    assert pipeline.retyped == [] and "Nothing to paste yet" in icon.notifications[-1][0]

    controller.handle(FinalText("u1", "the build is green."))
    controller.handle(intents.HotkeyDown(HOTKEY_PASTE_LAST))
    assert pipeline.retyped == []  # on release: an X11 grab would swallow the keys while it is down
    controller.handle(intents.HotkeyUp(HOTKEY_PASTE_LAST))
    controller.handle(intents.PasteLast())
    assert pipeline.retyped == ["the build is green.", "the build is green."]


def test_the_left_click_setting_saved_in_the_web_app_applies_to_the_menu_at_once(app):
    controller, icon, pipeline = app
    assert controller.view.tray_left_click == "listen"
    controller.handle(intents.SetSetting("tray_left_click", "window", save=False))  # the web app saved it
    assert controller.view.tray_left_click == "window" and icon.menu_updates == 1
    assert pipeline.settings == [], "a tray setting: the pipeline is not asked"
    controller.handle(intents.SetSetting("tray_left_click", "double"))
    assert controller.view.tray_left_click == "window" and "tray_left_click" in icon.notifications[-1][0]
