"""The Silero VAD loads on its own thread from the moment the tray icon shows (capture/vad_preload.py).

A user whose onnxruntime install is broken sees, as before, the tray in ERROR with what to install, and the app
stays up until they quit. A user who quits at once, while the model is still loading, gets a clean exit.
"""

from __future__ import annotations

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.servers import free_port
from tests.desktop.tray_harness import REPO_ROOT, start_tray
from tray_client.events import ClientState

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]


def test_a_broken_onnxruntime_shows_the_fix_in_the_tray_and_the_app_stays_up_until_quit(x_display, tmp_path):
    shadow = tmp_path / "shadow" / "onnxruntime"  # what a half-installed wheel does on import
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        'raise ImportError("libonnxruntime.so.1: cannot open shared object file: No such file or directory")\n',
        encoding="utf-8")
    tray = start_tray(x_display, tmp_path / "home", "--server", f"ws://127.0.0.1:{free_port()}",
                      "--input-device", "no microphone needed", as_module=True,
                      extra_env={"PYTHONPATH": f"{tmp_path / 'shadow'}:{REPO_ROOT}"})
    try:
        tray.find_icon()
        tray.wait_state(ClientState.ERROR, 60)
        assert "vad=onnx needs onnxruntime" in tray.title()  # the tooltip, shortened
        notice = "notification: vad=onnx needs onnxruntime (libonnxruntime.so.1"  # the notice says it whole
        assert wait_for(lambda: notice in tray.log_text() and "pip install onnxruntime" in tray.log_text(), 30), \
            tray.log_text()[-3000:]
        assert tray.process.poll() is None  # still up: the fix stays on screen
        tray.quit(30)
        assert tray.process.returncode == 0, (tray.home / "stderr.log").read_text(errors="replace")[-3000:]
    finally:
        tray.close()


def test_quit_while_the_vad_is_still_loading_exits_cleanly(x_display, tmp_path):
    tray = start_tray(x_display, tmp_path / "home", "--server", f"ws://127.0.0.1:{free_port()}",
                      "--input-device", "no microphone needed", as_module=True)
    try:
        tray.find_icon()
        tray.quit(30)  # at once: the model is usually still loading on its own thread
        assert tray.process.returncode == 0, (tray.home / "stderr.log").read_text(errors="replace")[-3000:]
        assert "quit took" in tray.log_text()
    finally:
        tray.close()
