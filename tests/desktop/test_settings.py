"""The settings window: every field checked with the config loader's rules (errors beside their fields, nothing
written), hotkey conflicts, a recorded hotkey from real key presses, and a config.toml written with the user's
comments and tables kept, that the loader reads back."""

from __future__ import annotations

import subprocess
import sys
import tkinter as tk

import pytest

from dictation_devtools.polling import wait_for
from tray_client.capture.audio_source import list_input_devices
from tray_client.capture.level import MicLevel
from tray_client.config import ClientConfig, load_config
from tray_client.ui.settings import SettingsHooks, SettingsWindow, hotkey_spec
from tray_client.ui.settings_model import check, update_toml_text

USER_FILE = """# my dictation settings
server = "ws://127.0.0.1:8765"  # the WSL box
mode = "ptt"
sounds = true

[replacements]
"open ai" = "OpenAI"
"""


def test_check_maps_each_loader_error_to_its_field_and_finds_hotkey_conflicts():
    config = ClientConfig()
    result = check(config, {"server": "http://x", "vad_threshold": "1.5", "min_silence_ms": "soon",
                            "history_days": "-1", "hotkey_toggle": "<ctrl>+<alt>+z", "hotkey_undo": "<ctrl>+<alt>+z",
                            "hotkey_push_to_talk": "<ctrl>+<banana>"})
    assert result.config is None
    assert "ws:// or wss://" in result.errors["server"]
    assert "between 0 and 1" in result.errors["vad_threshold"]
    assert "expected int" in result.errors["min_silence_ms"]
    assert "zero or more" in result.errors["history_days"]
    assert "same keys as hotkey_toggle" in result.errors["hotkey_undo"]
    assert "hotkey_push_to_talk" in result.errors["hotkey_push_to_talk"]
    ok = check(config, {"server": " ws://10.0.0.2:8765 ", "min_silence_ms": "300", "token": "", "overlay": False})
    assert ok.errors == {} and ok.config is not None
    assert ok.changes == {"server": "ws://10.0.0.2:8765", "min_silence_ms": 300, "overlay": False}


def test_update_keeps_comments_tables_and_other_keys():
    text = update_toml_text(USER_FILE, {"server": "ws://10.0.0.2:8765", "mode": "vad", "history_days": 7,
                                        "token": None})
    assert text.startswith("# my dictation settings\n")
    assert 'server = "ws://10.0.0.2:8765"  # the WSL box' in text
    assert 'mode = "vad"' in text and "sounds = true" in text
    assert text.index("history_days = 7") < text.index("[replacements]")  # a new key stays top-level
    assert '"open ai" = "OpenAI"' in text


def test_hotkey_text_from_key_events():
    assert hotkey_spec({"ctrl", "alt"}, "d") == "<ctrl>+<alt>+d"
    assert hotkey_spec({"cmd", "shift"}, "F9") == "<shift>+<cmd>+<f9>"
    assert hotkey_spec({"ctrl"}, "space") == "<ctrl>+<space>"
    assert hotkey_spec(set(), "XF86AudioMute") is None


@pytest.fixture
def window(x_display, tmp_path, monkeypatch):
    from dictation_devtools.fake_pyaudio import FakeDevice, FakeHardware

    # The meter reads the real MicSource; PyAudio is the fake one (no sound hardware here).
    monkeypatch.setitem(sys.modules, "pyaudio", FakeHardware(FakeDevice("USB Mic")).module())
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE, encoding="utf-8")
    config = load_config(["--config-file", str(path)])
    saved: list[tuple] = []
    hooks = SettingsHooks(on_save=lambda p, changes: saved.append((p, changes)),
                          test_connection=lambda server, token: f"ok {server}", devices=list_input_devices,
                          level=MicLevel)
    root = tk.Tk()
    form = SettingsWindow(root, config, hooks)
    root.update()
    yield form, root, path, saved
    form.close()


def test_the_level_meter_moves_with_the_microphone(window):
    form, root, _path, _ = window

    def bar() -> int:
        root.update()
        return form.level_width

    assert wait_for(lambda: bar() > 20, 10), form.level_width
    form.set("input_device", "USB Mic")  # choosing a device restarts the meter on it
    assert wait_for(lambda: bar() > 20, 10), form.level_width


def test_a_bad_value_shows_the_fields_error_and_writes_nothing(window):
    form, root, path, saved = window
    form.set("min_silence_ms", "-5")
    form.set("server", "localhost:8765")
    form.save()
    root.update()
    assert "must be positive" in form.error("min_silence_ms")
    assert "ws://" in form.error("server")
    assert form.error("mode") == ""
    assert "Not saved" in form.status.cget("text")
    assert path.read_text(encoding="utf-8") == USER_FILE and saved == []


def test_save_writes_a_config_the_loader_reads_back_with_the_comments_kept(window):
    form, root, path, saved = window
    form.set("server", "ws://10.0.0.2:8765")
    form.set("mode", "Voice activity (VAD)")
    form.set("input_device", "USB Mic")
    form.set("language", "Chinese")
    form.set("vad_threshold", "0.35")
    form.set("history_days", "0")
    form.set("overlay", False)
    form.save()
    root.update()
    assert all(form.error(name) == "" for name in ("server", "mode", "vad_threshold"))
    config = load_config(["--config-file", str(path)])
    assert (config.server, config.mode, config.input_device, config.language) == \
        ("ws://10.0.0.2:8765", "vad", "USB Mic", "Chinese")
    assert (config.vad_threshold, config.history_days, config.overlay) == (0.35, 0, False)
    assert config.replacements == {"open ai": "OpenAI"}
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my dictation settings") and "# the WSL box" in text
    assert saved and saved[0][1]["server"] == "ws://10.0.0.2:8765" and "sounds" not in saved[0][1]


def test_record_takes_the_hotkey_from_real_key_presses(window, x_display):
    form, root, _path, _ = window
    form.record("hotkey_toggle")
    root.update()
    window_id = str(root.winfo_id())
    subprocess.run(["xdotool", "windowfocus", "--sync", window_id], env=x_display.env(), check=True, timeout=10)
    subprocess.run(["xdotool", "key", "--window", window_id, "ctrl+shift+k"], env=x_display.env(), check=True)

    def recorded() -> bool:
        root.update()
        return form.get("hotkey_toggle") == "<ctrl>+<shift>+k"

    assert wait_for(recorded, 5), form.get("hotkey_toggle")
