"""Fixtures of the Windows lane: one Wine prefix, one wineserver, one agent and one stand-in server per session.

Every test here is marked `windows`. On CI (CI=true) a missing Wine fails the lane; elsewhere it skips.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dictation_devtools.desktop import XDisplay
from dictation_devtools.servers import free_port, start_server_process, wait_healthy
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend
from tests.conftest import _unavailable
from tests.windows.harness import (
    REPO_ROOT,
    Agent,
    TrayProcess,
    WineLane,
    WineUnavailable,
    focus_notepad,
    xdotool,
)

CACHE = REPO_ROOT / ".wine-lane"

PHRASES = {
    "ascii": "Hello world, it works.",
    "accents": "Café déjà vu, naïve Zoë.",
    "cjk": "你好，世界。今天天气很好",
    "astral": "Party 🎉 time 𝄞 and 😀",
    "add": "add",
    "newline": "First line, new line, second line.",  # "new line" is a voice command: a line break
    # 150 characters ending in emoji (153 UTF-16 units): the final that made the tray quit (issue 10).
    "long_emoji": ("This is a long final that goes on and on " * 4)[:146] + " 🎉😀🎉",
    # A ZWJ family and a skin tone: undoing it a code point at a time left "Dear team OK \ud83d" in Notepad.
    "family": "Dear team OK \U0001F468\u200d\U0001F469\u200d\U0001F467 and \U0001F44D\U0001F3FD done",
    # The first-hour journeys (test_first_hour.py): one phrase each, so the shared history tells them apart.
    "kept": "Kept through the kill.",
    "closed": "Closed before it came.",
    "paste": "Paste me where I am now.",
    "before": "Said before the hold.",
    "held": "Only while the key is held.",
    "after": "Said after the hold.",
    "instruction": "Make this more formal.",  # the voice edit's spoken instruction (test_voice_edit.py)
}
"""What the stand-in server "hears" in each noise burst: the words the lane checks in Notepad."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.windows)


def burst(seed: int, seconds: float = 0.8) -> np.ndarray:
    """A loud noise burst: speech for the lane's energy VAD, and unique audio for the scripted server."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(16_000 * seconds)) * 5000).clip(-32000, 32000).astype(np.int16)


@pytest.fixture(scope="session")
def phrases() -> dict[str, KnownPhrase]:
    return {name: KnownPhrase(text, burst(index + 1)) for index, (name, text) in enumerate(PHRASES.items())}


@pytest.fixture(scope="session")
def wine_lane(x_display: XDisplay) -> Iterator[WineLane]:
    if shutil.which("wine") is None:
        _unavailable("wine is not installed: apt-get install wine wine64 (the Windows lane needs it)")
    try:
        lane = WineLane.build(CACHE, x_display.name, sys.executable)
    except (WineUnavailable, subprocess.TimeoutExpired) as error:
        _unavailable(str(error))
        raise
    yield lane
    lane.close()


@pytest.fixture(scope="session")
def agent(wine_lane: WineLane) -> Iterator[Agent]:
    agent = Agent(wine_lane)
    yield agent
    agent.close()


@pytest.fixture(scope="session")
def server_url(phrases: dict[str, KnownPhrase], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real asr_server with the scripted stand-in backend, on Linux loopback (the Windows client's WSL2)."""
    folder = tmp_path_factory.mktemp("wine-server")
    ScriptedBackend(list(phrases.values())).save(folder / "phrases.npz")
    port = free_port()
    process = start_server_process(["dictation_devtools.stand_in_server", "--phrases", str(folder / "phrases.npz"),
                                    "--", "--port", str(port)], log_path=folder / "server.log")
    try:
        wait_healthy(port, timeout=60, process=process)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def notepad(agent: Agent, wine_lane: WineLane) -> Iterator[Agent]:
    """Notepad open, empty and in front (the user's target window)."""
    agent.call("notepad_start")
    agent.call("notepad_clear")
    focus_notepad(wine_lane.display)
    yield agent
    # A test that failed while "holding" keys must not leave them down for the next one.
    xdotool(wine_lane.display, "keyup", "ctrl", "keyup", "alt", "keyup", "shift", "keyup", "space")


@pytest.fixture
def start_tray(wine_lane: WineLane, server_url: str, tmp_path: Path) -> Iterator[object]:
    """Start `python -m tray_client` with settings (the server and quiet sounds by default); stopped after."""
    started: list[TrayProcess] = []

    def start(**settings: object) -> TrayProcess:
        merged = {"server": server_url, "sounds": False, "vad": "onnx", **settings}
        tray = TrayProcess.start(wine_lane, tmp_path / f"tray{len(started)}", merged)
        started.append(tray)
        return tray

    yield start
    for tray in started:
        tray.stop()
