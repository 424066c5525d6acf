"""What the Linux tray journeys need besides Xvfb and trayer: a D-Bus session bus, as every desktop session has
(pystray's GTK backends need one), and PyGObject for the app exactly as scripts/start.sh provides it."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from dictation_devtools.desktop import XDisplay
from dictation_devtools.scripted_server import KnownPhrase, ScriptedServer
from dictation_devtools.servers import free_port
from tests.conftest import _unavailable
from tests.desktop.tray_harness import TrayProcess, start_tray, xrun
from tray_client.events import ClientState


@pytest.fixture
def session_bus() -> Iterator[str]:
    """A private session bus; its address."""
    try:
        daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except FileNotFoundError:
        _unavailable("dbus-daemon is missing: apt-get install dbus")
        raise
    address = daemon.stdout.readline().strip() if daemon.stdout else ""
    try:
        yield address
    finally:
        daemon.kill()
        daemon.wait(10)


def gi_for_the_app(tmp_path: Path) -> str:
    """A PYTHONPATH entry that gives the app PyGObject as start.sh does: "" when this venv has `gi` (test.sh
    links it), else the distribution's python3-gi linked alone into a folder."""
    if importlib.util.find_spec("gi") is not None:
        return ""
    found = subprocess.run(["/usr/bin/python3", "-c", "import gi, os; print(os.path.dirname(gi.__file__))"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        _unavailable("python3-gi is missing: apt-get install python3-gi gir1.2-gtk-3.0")
    folder = tmp_path / "gi-only"
    folder.mkdir(exist_ok=True)
    if not (folder / "gi").exists():
        (folder / "gi").symlink_to(found.stdout.strip())
    return str(folder)


def visible_windows(display: XDisplay) -> set[str]:
    result = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "."], env=display.env(),
                            capture_output=True, text=True)
    return set(result.stdout.split())


def window_height(display: XDisplay, window: str) -> int:
    found = re.search(r"Height:\s+(\d+)", xrun(display, "xwininfo", "-id", window))
    return int(found.group(1)) if found else 0


def menu_opened(display: XDisplay, before: set[str]) -> bool:
    """A tall popup (the tray menu, with all its items) appeared since `before`."""
    return any(window_height(display, window) > 300 for window in visible_windows(display) - before)


@contextlib.contextmanager
def listening_tray(display: XDisplay, home: Path, phrases: Sequence[KnownPhrase], mic_wav: Path) -> Iterator[TrayProcess]:
    """The app as a user starts it (`python -m tray_client`, a private `home`), its microphone playing `mic_wav`,
    against the real server whose scripted backend hears `phrases`: yielded once its icon is in the tray and it
    is listening; closed after, the server with it."""
    port = free_port()
    with ScriptedServer(list(phrases), final_delay_s=0.3, port=port):
        tray = start_tray(display, home, "--server", f"ws://127.0.0.1:{port}", "--input-wav", str(mic_wav),
                          as_module=True)
        try:
            tray.find_icon()
            tray.wait_state(ClientState.LISTENING, 60)
            yield tray
        finally:
            tray.close()
