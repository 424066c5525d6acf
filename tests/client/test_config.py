"""Settings: defaults, TOML file, CLI overrides, validation messages, saving, --print-config."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tray_client.config import ClientConfig, ConfigError, config_path, load_config, log_path, save_config


def test_defaults_are_the_documented_ones():
    config = load_config([])
    assert config.server == "ws://127.0.0.1:8765"
    assert (config.min_silence_ms, config.preroll_ms, config.max_utterance_s) == (400, 480, 30.0)
    assert (config.mode, config.output, config.vad, config.language) == ("vad", "type", "onnx", None)
    assert config.hotkey_push_to_talk == "<ctrl>+<alt>+space" and config.hotkey_toggle == "<ctrl>+<alt>+d"


def test_cli_overrides_the_toml_file_which_overrides_defaults(user_dirs):
    path = config_path()
    assert str(path).startswith(str(user_dirs))
    path.parent.mkdir(parents=True)
    path.write_text('mode = "ptt"\nmin_silence_ms = 300\ninput_device = 2\nsounds = false\n')
    config = load_config(["--min-silence-ms", "250", "--language", "Chinese", "--sounds"])
    assert config.mode == "ptt"
    assert config.min_silence_ms == 250
    assert config.input_device == 2
    assert config.language == "Chinese"
    assert config.sounds is True
    assert load_config(["--input-device", "USB Mic"]).input_device == "USB Mic"
    assert load_config(["--no-tray", "--no-sounds"]).no_tray is True
    assert load_config(["--no-sounds"]).sounds is False and load_config(["--tray"]).no_tray is False


def test_bad_values_say_what_is_allowed(tmp_path):
    with pytest.raises(ConfigError, match=r"mode='shout'.*vad, ptt, toggle"):
        load_config(["--mode", "shout"])
    with pytest.raises(ConfigError, match="min_silence_ms='soon'"):
        load_config(["--min-silence-ms", "soon"])
    with pytest.raises(ConfigError, match="ws://"):
        ClientConfig(server="http://x")
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'red'\n")
    with pytest.raises(ConfigError, match=r"unknown setting.*colour"):
        load_config(["--config", str(bad)])


def test_saved_settings_load_back_and_run_time_flags_are_not_saved(tmp_path):
    config = ClientConfig(mode="toggle", output="clipboard", language="Chinese", input_device="USB Mic",
                          context='say "hi"\\', input_wav="x.wav", fast=True, no_tray=True)
    path = save_config(config, tmp_path / "config.toml")
    loaded = load_config(["--config", str(path)])
    assert (loaded.mode, loaded.output, loaded.language, loaded.input_device, loaded.context) == (
        "toggle", "clipboard", "Chinese", "USB Mic", 'say "hi"\\')
    assert loaded.input_wav is None and loaded.fast is False and loaded.no_tray is False


@pytest.mark.slow  # starts the app (python -m tray_client --print-config)
def test_print_config_shows_effective_values():
    result = subprocess.run([sys.executable, "-m", "tray_client", "--print-config", "--preroll-ms", "320"],
                            capture_output=True, text=True, timeout=60)  # inherits the tmp XDG dirs
    assert result.returncode == 0, result.stderr
    assert "preroll_ms = 320" in result.stdout
    assert 'server = "ws://127.0.0.1:8765"' in result.stdout


def test_log_file_lives_in_the_user_log_directory(user_dirs):
    assert str(log_path()).startswith(str(user_dirs))

