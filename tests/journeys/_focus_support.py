"""What the focus journeys share: a keyboard grab that stands for an open menu, the tray's notices and history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dictation_devtools.desktop import XDisplay
from dictation_devtools.polling import wait_for
from tests.desktop.tray_harness import TrayProcess

_GRAB = """
import sys
from Xlib import X, display
d = display.Display()
status = d.screen().root.grab_keyboard(False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime)
d.sync()
print("grabbed" if status == X.GrabSuccess else f"refused {status}", flush=True)
sys.stdin.readline()
d.ungrab_keyboard(X.CurrentTime)
d.sync()
"""


class OpenMenu:
    """A popup menu as X11 makes one: a client holds the keyboard grab until it closes (here: `close()`)."""

    def __init__(self, display: XDisplay) -> None:
        self._process = subprocess.Popen([sys.executable, "-c", _GRAB], env=display.env(), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if line != "grabbed":
            self.close()
            raise RuntimeError(f"could not open the stand-in menu: {line!r}")

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(10)


def notices(tray: TrayProcess) -> list[str]:
    """The notifications the tray showed (Xvfb has no daemon: the tray logs each as "notification: ...")."""
    return [line.split("notification: ", 1)[1] for line in tray.log_text().splitlines() if "notification: " in line]


def wait_for_notice(tray: TrayProcess, part: str, timeout: float = 30.0) -> str:
    assert wait_for(lambda: any(part in n for n in notices(tray)), timeout), tray.log_text()[-3000:]
    return next(n for n in notices(tray) if part in n)


def wait_for_log(tray: TrayProcess, part: str, timeout: float = 60.0) -> None:
    assert wait_for(lambda: part in tray.log_text(), timeout), tray.log_text()[-3000:]


def history(tray: TrayProcess) -> list[dict[str, object]]:
    """The history as the user lists it: `python -m tray_client history --json`, newest first."""
    result = subprocess.run([sys.executable, "-m", "tray_client", "history", "--json"], env=tray.env,
                            capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def clipboard(display: XDisplay) -> str:
    result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=display.env(), capture_output=True,
                            text=True, timeout=10)
    return result.stdout
