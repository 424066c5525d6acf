"""Helpers for the hostile-server and terminal journeys: the client started as a user starts it, with private
user folders, against tests/client/protocol_server.py (which injects what a hostile or broken server does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.client.protocol_server import phrase_transcriber

REPO_ROOT = Path(__file__).resolve().parents[2]


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user whose config, logs and saved audio live under `home`."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **extra}
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        env[name] = str(home / name.lower())
    env.pop("PYTHONWARNINGS", None)
    return env


def kept_audio(home: Path) -> list[Path]:
    """The recordings a run saved because they never got a transcript."""
    folder = home / "xdg_state_home" / "qwen-dictation" / "log" / "untranscribed"
    return sorted(folder.glob("*.wav")) if folder.exists() else []


def run_headless(home: Path, *args: str, timeout: float = 120.0,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m tray_client --no-tray ARGS`, as a script or a scheduled job runs it."""
    return subprocess.run([sys.executable, "-m", "tray_client", "--no-tray", *args], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=timeout, cwd=REPO_ROOT,
                          env=env or user_env(home))


def scripted(sample, *texts: str):
    """The server answers the sample's utterances with these texts, in order ("" for the rest)."""
    padded = [*texts, *[""] * (len(sample.phrases) - len(texts))]
    return phrase_transcriber(sample.samples, sample.phrases, padded)
