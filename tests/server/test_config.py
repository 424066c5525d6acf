"""Settings from defaults, TOML and flags; every mistake is one line that says how to fix it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from asr_server.config import ServerConfig, help_text, load_config
from asr_server.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_relative_model_path_becomes_absolute(tmp_path, monkeypatch):
    (tmp_path / "models" / "asr").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    config = load_config(["--model", "models/asr"])
    assert config.model == str((tmp_path / "models" / "asr").resolve())
    assert Path(config.model).is_absolute()


def test_hugging_face_id_is_kept():
    assert load_config(["--model", "Qwen/Qwen3-ASR-1.7B"]).model == "Qwen/Qwen3-ASR-1.7B"


def test_defaults_are_safe():
    config = load_config(["--model", "Qwen/Qwen3-ASR-1.7B"])
    assert config.host == "127.0.0.1" and config.port == 8765 and config.token is None
    assert config.chunk_seconds == 1.0 and config.window_seconds == 20.0 and config.max_model_len == 4096
    assert config.max_frame_bytes == 65536


def test_toml_file_then_flags_override(tmp_path):
    path = tmp_path / "server.toml"
    path.write_text('model = "Qwen/Qwen3-ASR-0.6B"\nchunk_seconds = 0.5\nmax_sessions = 3\nlanguage = "Chinese"\n')
    config = load_config(["--config", str(path), "--max-sessions", "5"])
    assert (config.model, config.chunk_seconds, config.max_sessions, config.language) == \
        ("Qwen/Qwen3-ASR-0.6B", 0.5, 5, "Chinese")


@pytest.mark.parametrize(("argv", "words"), [
    (["--model", "Qwen/x", "--host", "0.0.0.0"], "--token"),
    (["--model", "Qwen/x", "--backend", "onnx"], "--backend"),
    (["--model", "Qwen/x", "--chunk-seconds", "0"], "--chunk-seconds"),
    (["--model", "Qwen/x", "--chunk-seconds", "abc"], "--chunk-seconds"),
    (["--model", "Qwen/x", "--gpu-memory-utilization", "1.5"], "--gpu-memory-utilization"),
    (["--model", "./no/such/dir"], "no such directory"),
    ([], "--model"),
])
def test_invalid_settings_name_the_flag(argv, words):
    with pytest.raises(ConfigError, match=words.replace("-", r"\-")):
        load_config(argv)


def test_off_loopback_with_a_token_or_explicit_insecure_flag_is_allowed():
    assert load_config(["--model", "Qwen/x", "--host", "0.0.0.0", "--token", "t"]).token == "t"
    assert load_config(["--model", "Qwen/x", "--host", "0.0.0.0", "--insecure-no-auth"]).insecure_no_auth


def test_unknown_toml_key_is_refused(tmp_path):
    path = tmp_path / "server.toml"
    path.write_text("modle = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(["--config", str(path)])


@pytest.mark.slow  # starts the server (python -m asr_server)
@pytest.mark.parametrize("argv", [
    ["--model", "/definitely/not/here"],
    ["--model", "Qwen/x", "--host", "192.168.1.5"],
])
def test_cli_prints_one_line_not_a_traceback(argv):
    result = subprocess.run([sys.executable, "-m", "asr_server", *argv], capture_output=True, text=True,
                            timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asr_server: error: ") and "Traceback" not in result.stderr


def test_every_setting_is_a_documented_flag():
    text = help_text()
    for f in fields(ServerConfig):
        flag = "--config" if f.name == "config_file" else "--" + f.name.replace("_", "-")
        assert flag in text, flag


def test_importing_the_packages_loads_no_heavy_library():
    code = ("import sys, asr_server, asr_server.server, tray_client; "
            "print(sorted(m for m in ('torch', 'vllm', 'qwen_asr', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
