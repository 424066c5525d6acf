"""The app's window served by the Windows build: `python -m tray_client open` run by the Windows Python under
Wine (aiohttp's win_amd64 wheels, the Windows paths of the config file) and loaded from the Linux Chromium (Wine
shares the loopback network). A setting changed in the page lands in the Windows config file, comments kept."""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.journeys._webapp_support import chromium, show
from tests.windows.harness import poll

pytestmark = [pytest.mark.journey, pytest.mark.slow]
PAGES = ("settings", "history", "dictionary", "profiles", "stats")


@contextmanager
def windows_open(lane, page: str) -> Iterator[str]:
    """`python -m tray_client open PAGE` in the Windows Python (no tray: it serves the pages itself); its URL.

    BROWSER is a program that opens nothing (the test's Chromium is the browser); `open` prints the URL."""
    process = lane.start(["-m", "tray_client", "open", page], env={"BROWSER": "cmd.exe /c rem"},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(line.decode("utf-8", "replace")) for line in process.stdout],
                     daemon=True).start()
    try:
        yield poll(lambda: next((line.strip() for line in iter(lambda: lines.get(timeout=60), None)
                                 if "/login?k=" in line), None), 90, what="the URL printed by `open`")
    finally:
        process.terminate()
        process.wait(30)


def _linux_path(lane, windows_path: str) -> Path:
    drive, rest = windows_path.split(":", 1)
    assert drive.upper() == "C", windows_path
    return lane.prefix / "drive_c" / rest.lstrip("\\").replace("\\", "/")


def test_the_windows_python_serves_the_pages_to_a_linux_chromium(wine_lane, agent, artifacts_dir: Path):
    # `agent` is not used directly: with no other Windows process running, the first one here hung (> 60 s) in
    # the fresh wineserver; the lane's other tests all start with the agent up, and so does this one.
    config = _linux_path(wine_lane, wine_lane.run(
        "from tray_client.config import config_path\nprint(config_path())").strip())
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("# written on Windows\nmode = \"vad\"  # mine\n", encoding="utf-8")
    shots = artifacts_dir / "webapp" / "windows"
    shots.mkdir(parents=True, exist_ok=True)
    with windows_open(wine_lane, "settings") as url, chromium() as page:
        show(page, url)
        for name in PAGES:
            show(page, name)
            page.screenshot(path=str(shots / f"{name}.png"))
        show(page, "settings")
        page.fill("#f-min_silence_ms", "300")
        page.click("#settings-form button[type=submit]")
        page.wait_for_selector("#status.ok")
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# written on Windows\nmode = \"vad\"  # mine\n") and "min_silence_ms = 300" in text
