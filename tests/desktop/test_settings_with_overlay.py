"""The Settings window opened while the live preview overlay runs (the default): two Tk interpreters on two
threads. Every field shows its value, an edit made through the widgets is saved, and the window fits small
screens. Before, the form's Tk variables bound to the overlay's interpreter: every field opened empty, check
boxes sat in a third state, and Save wrote only the Replacements box while saying "Saved"."""

from __future__ import annotations

import sys

import pytest

from dictation_devtools.polling import wait_for
from tray_client.config import load_config
from tray_client.events import ClientState, StateChanged
from tray_client.ui import settings as settings_module
from tray_client.ui.overlay import Overlay
from tray_client.ui.settings import MODES, OUTPUTS, SettingsHooks, open_settings

pytestmark = [pytest.mark.desktop]

USER_FILE = """# mine
server = "ws://10.1.2.3:8765"
mode = "ptt"
language = "Chinese"
output = "clipboard"
vad_threshold = 0.4
min_silence_ms = 550
overlay = true
sounds = false
history_days = 9
chinese_script = "traditional"
voice_commands = false
hotkey_toggle = "<ctrl>+<alt>+t"

[replacements]
"open ai" = "OpenAI"
"""


@pytest.fixture
def overlay(x_display):
    overlay = Overlay()
    overlay.start()
    overlay.post(StateChanged(ClientState.LISTENING, ""))  # it is on screen, its Tk loop running
    assert overlay.failed is None
    yield overlay
    overlay.close()


@pytest.fixture
def settings_window(overlay, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE, encoding="utf-8")
    config = load_config(["--config-file", str(path)])
    saved: list[dict] = []
    hooks = SettingsHooks(on_save=lambda _path, changes: saved.append(changes),
                          test_connection=lambda server, token: "ok", devices=lambda: ["USB Mic"])
    assert open_settings(config, hooks)
    assert wait_for(lambda: settings_module.opened() is not None, 20)
    window = settings_module.opened()
    yield window, path, saved
    window.call(lambda w: w.close()).result(10)


def on_ui(window, function):
    return window.call(function).result(10)


def test_every_field_shows_its_value_and_an_edit_is_saved_while_the_overlay_runs(settings_window):
    window, path, saved = settings_window
    shown = on_ui(window, lambda w: {name: w.form.shown(name) for name in (*settings_module.FIELDS, "autostart")})
    assert shown == {
        "server": "ws://10.1.2.3:8765", "token": "", "input_device": "System default", "mode": MODES["ptt"],
        "hotkey_push_to_talk": "<ctrl>+<alt>+space", "hotkey_toggle": "<ctrl>+<alt>+t",
        "hotkey_undo": "<ctrl>+<alt>+z", "language": "Chinese", "output": OUTPUTS["clipboard"],
        "vad_threshold": "0.4", "min_silence_ms": "550", "overlay": True, "sounds": False, "history_days": "9",
        "chinese_script": "traditional", "voice_commands": False, "replacements": "open ai = OpenAI\n",
        "autostart": False}

    def edit(w) -> None:
        w.form.edit("server", "ws://10.9.9.9:8765")
        w.form.edit("mode", MODES["vad"])
        w.form.edit("sounds", True)
        w.form.edit("min_silence_ms", "700")
        w.save()

    on_ui(window, edit)
    assert "Saved to" in on_ui(window, lambda w: str(w.status.cget("text")))
    config = load_config(["--config-file", str(path)])
    assert (config.server, config.mode, config.sounds, config.min_silence_ms) == \
        ("ws://10.9.9.9:8765", "vad", True, 700)
    assert (config.language, config.history_days, config.replacements) == ("Chinese", 9, {"open ai": "OpenAI"})
    assert path.read_text(encoding="utf-8").startswith("# mine\n")
    assert saved == [{"server": "ws://10.9.9.9:8765", "mode": "vad", "sounds": True, "min_silence_ms": 700}]


def test_the_window_fits_1280x720_at_100_percent_and_1366x768_at_125_percent(settings_window):
    window, _path, _saved = settings_window
    width, height = on_ui(window, lambda w: w.size)
    taskbar = 40  # px at 100 %
    assert width <= 1280 and height <= 720 - taskbar, (width, height)
    assert width * 1.25 <= 1366 and (height + taskbar) * 1.25 <= 768, (width, height)


@pytest.mark.skipif(sys.platform == "win32", reason="the Linux wording")
def test_the_autostart_box_says_start_at_login_not_windows_on_linux(settings_window):
    window, _path, _saved = settings_window
    assert on_ui(window, lambda w: w.form.text_of("autostart")) == "Start at login"
