"""A newcomer on Linux runs `bash scripts/start.sh` on a machine that cannot fetch the model.

Before: the server failed, the script exited, and no tray ever appeared, so the user could not even point it at
a server elsewhere. Now the terminal names the model it could not fetch, the tray icon appears anyway, shows
"disconnected" and a notice saying where to set another server, and its menu (GTK, as start.sh's venv gets it)
works: Quit ends the script. HF_HUB_OFFLINE=1 stands in for the missing network (the load fails at once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.servers import free_port
from tests.desktop.tray_harness import REPO_ROOT, TrayProcess, icon_windows, xrun
from tests.journeys._linux_tray_support import gi_for_the_app, menu_opened, session_bus, visible_windows
from tray_client.events import ClientState

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]
__all__ = ["session_bus"]  # the fixture, used by name

VENV = Path(os.environ.get("VIRTUAL_ENV", Path(sys.executable).parent.parent))


def test_without_the_model_the_tray_still_starts_disconnected_says_where_to_set_a_server_and_quits(
        x_display, tmp_path, session_bus):
    port = free_port()
    home = tmp_path / "home"
    (tmp_path / "bin").mkdir()  # no nvidia-smi on PATH: the CPU path, Qwen3-ASR-0.6B
    gi_path = gi_for_the_app(tmp_path)
    env = {**x_display.env(), "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "SERVER_VENV": str(VENV),
           "CLIENT_VENV": str(VENV), "SKIP_INSTALL": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": ":".join(filter(None, (str(REPO_ROOT), gi_path))),
           "DBUS_SESSION_BUS_ADDRESS": session_bus, "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_DATA_HOME": str(home / "data")}
    env.pop("PYSTRAY_BACKEND", None)  # the app chooses, as for a user
    output = tmp_path / "start.out"
    before = icon_windows(x_display)
    with output.open("wb") as sink:
        process = subprocess.Popen(["bash", "scripts/start.sh", "--port", str(port), "--", "--no-overlay"],
                                   cwd=REPO_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    tray = TrayProcess(process=process, display=x_display, home=home, foreign_windows=before,
                       log_path=home / "state" / "qwen-dictation" / "log" / "tray_client.log")
    try:
        tray.find_icon(600)  # after the server's failed start: cold imports of torch on a busy machine
        said = output.read_text(errors="replace")
        assert "could not load the model Qwen/Qwen3-ASR-0.6B" in said and "download Qwen/Qwen3-ASR-0.6B" in said
        assert "starting the tray app anyway, not connected" in said and "Settings... -> Server URL" in said
        assert "from Windows" not in said

        tray.wait_state(ClientState.DISCONNECTED, 60)
        notice = f"notification: Cannot reach the server at ws://127.0.0.1:{port}"
        assert wait_for(lambda: notice in tray.log_text(), 60), tray.log_text()[-3000:]
        assert "Settings… → Server URL" in tray.log_text()

        x, y, width, height = tray.geometry()
        shown = visible_windows(x_display)
        xrun(x_display, "xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "3")
        assert wait_for(lambda: menu_opened(x_display, shown), 30), "the tray has no menu"
        tray.key("Up")  # the last item: Quit
        tray.key("Return")
        assert process.wait(120) == 1  # the server had failed: the script says so in its status
        assert "the tray app ended (status 0)" in output.read_text(errors="replace")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
