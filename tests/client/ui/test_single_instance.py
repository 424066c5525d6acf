"""One tray app per user: a second copy says so and quits, and a copy that died does not block the next start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tray_client import config as config_module
from tray_client.config import ClientConfig
from tray_client.ui.tray import app as app_module
from tray_client.ui.tray import single_instance

FIRST_COPY = """
import sys
from pathlib import Path
from tray_client.ui.tray.single_instance import another_copy_runs

print(another_copy_runs(Path(sys.argv[1])), flush=True)
sys.stdin.read()  # runs until the test kills it
"""


def start_first_copy(folder: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", FIRST_COPY, str(folder)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "False", "the first copy found another one"
    return process


@pytest.fixture
def held(monkeypatch):
    """This process's lock, forgotten after each test (a real process holds it until it ends)."""
    monkeypatch.setattr(single_instance, "_held", [])
    yield single_instance._held
    for lock in single_instance._held:
        lock.release()


def test_a_second_copy_is_refused_while_the_first_runs_and_allowed_once_it_died(tmp_path, held):
    first = start_first_copy(tmp_path)
    try:
        assert single_instance.another_copy_runs(tmp_path) is True
        assert held == []
    finally:
        first.kill()  # a crash: no clean-up runs, the OS drops the lock
        first.wait(timeout=10)
    assert single_instance.another_copy_runs(tmp_path) is False
    assert len(held) == 1 and held[0].is_locked


def test_the_second_tray_app_says_the_first_one_runs_and_exits_0_without_starting(capsys, held, monkeypatch):
    first = start_first_copy(config_module.log_path().parent)
    started: list[ClientConfig] = []
    monkeypatch.setattr(app_module, "TrayApp", lambda config: started.append(config))
    try:
        assert app_module.run_tray(ClientConfig()) == 0
    finally:
        first.kill()
        first.wait(timeout=10)
    assert started == [], "a second tray app started: every utterance would be typed twice"
    assert "Dictation is already running" in capsys.readouterr().err
    assert "Dictation is already running" in config_module.log_path().read_text(encoding="utf-8")


def test_an_unwritable_log_folder_does_not_stop_dictation(tmp_path, held):
    blocker = tmp_path / "a file where the folder should be"
    blocker.write_text("")
    assert single_instance.another_copy_runs(blocker / "logs") is False
