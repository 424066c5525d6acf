"""pystray's X11 icon under fire: title and image changes from another thread while a user clicks it.

Before tray_x11 gave each thread its own X connection, this deadlocked (the icon stuck at its first title) or
lost clicks, now and then; a few hundred updates with clicks in between make either show up.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dictation_devtools.polling import wait_for
from tests.desktop.tray_harness import REPO_ROOT, TrayProcess, icon_windows

pytestmark = [pytest.mark.desktop]

APP = Path(__file__).with_name("x11_stress_app.py")
CLICKS = 30


def read_count(path: Path) -> int:
    return int(path.read_text() or 0) if path.exists() else 0


def test_icon_keeps_handling_clicks_while_another_thread_updates_it(x_display, tmp_path):
    state = tmp_path / "stress"
    state.mkdir()
    env = {**x_display.env(), "PYTHONPATH": str(REPO_ROOT), "PYSTRAY_BACKEND": "xorg"}
    before = icon_windows(x_display)
    process = subprocess.Popen([sys.executable, str(APP), str(state)], env=env, cwd=REPO_ROOT,
                               stderr=open(state / "stderr.log", "wb"))  # noqa: SIM115 - closed at exit
    icon = TrayProcess(process=process, display=x_display, home=state, foreign_windows=before)
    try:
        icon.find_icon(30)
        for _ in range(CLICKS):
            icon.click()
        handled = wait_for(lambda: read_count(state / "clicks") == CLICKS, 60)
        assert handled, f"{read_count(state / 'clicks')} of {CLICKS} clicks handled:\n{icon.thread_stacks()}"
        (state / "stop").write_text("1")
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the icon did not stop (deadlock?):\n{icon.thread_stacks()}") from None
        assert process.returncode == 0
        assert read_count(state / "updates") > 4 * CLICKS  # the updates really ran between the clicks
    finally:
        icon.close()
