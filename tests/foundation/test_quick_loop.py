"""The quick loop's guard (tests/conftest.py) knows a server, the app, Xvfb, a browser and Wine from a quick helper
process, so a test that starts one of them without the `slow` mark fails instead of slowing everyone's loop."""

from __future__ import annotations

import sys

from tests.conftest import slow_program


def test_servers_the_app_and_the_desktop_are_slow_programs():
    assert slow_program([sys.executable, "-m", "asr_server", "--port", "0"]) == "python -m asr_server"
    assert slow_program(["python3", "-m", "tray_client", "--help"]) == "python -m tray_client"
    assert slow_program([sys.executable, "-m", "dictation_devtools.stand_in_server", "--"]) == \
        "python -m dictation_devtools.stand_in_server"
    assert slow_program(["bash", "scripts/start_server.sh", "--gpus", "2"]) == "start_server.sh"
    assert slow_program("Xvfb :99 -screen 0 1280x800x24") == "Xvfb"
    assert slow_program(["/usr/bin/chromium", "--headless"]) == "chromium"
    assert slow_program(["wine", "python.exe", "-c", "pass"]) == "wine"


def test_quick_helpers_are_not():
    assert slow_program([sys.executable, "-c", "import tray_client"]) is None
    assert slow_program([sys.executable, "-m", "tray_client_helper"]) is None
    assert slow_program(["xdotool", "type", "hello"]) is None
    assert slow_program(["git", "status"]) is None
