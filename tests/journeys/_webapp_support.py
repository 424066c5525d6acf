"""The web app journeys' browser: Debian's chromium driven by Playwright (never a downloaded browser), and a
stand-in for the desktop's "open this URL" that records what the app asked to open ($BROWSER, which Python's
webbrowser module honours)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dictation_devtools.polling import wait_for
from tests.conftest import _unavailable

LEAD_S = 30.0
"""The "microphone" plays from the tray's start; the user is quiet this long while they set things up in the
browser (the steps take ~10 s), then speaks."""

TIMEOUT_MS = 60_000


@contextmanager
def chromium(locale: str = "en-US") -> Iterator[Any]:
    """A headless Chromium page (headless: the user's editor keeps the keyboard focus)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _unavailable("chromium is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is missing: pip install playwright (it drives the system chromium)")
        raise
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = browser.new_context(locale=locale, accept_downloads=True, viewport={"width": 1200,
                                                                                       "height": 760})
            context.set_default_timeout(TIMEOUT_MS)
            context.grant_permissions(["clipboard-read", "clipboard-write"])
            yield context.new_page()
        finally:
            browser.close()


def recording_browser(folder: Path) -> tuple[Path, Path]:
    """A $BROWSER program that writes the URL it is given to a file; (program, file)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "opened-urls.txt"
    program = folder / "browser.sh"
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{record}"\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program, record


def wait_for_opened_url(record: Path, timeout: float = 60.0) -> str:
    assert wait_for(lambda: record.exists() and record.read_text().strip() != "", timeout, 0.1), \
        "the app opened no browser"
    return record.read_text().split()[-1]


def silence(seconds: float) -> Any:
    import numpy as np

    from dictation_devtools.speech import SAMPLE_RATE

    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


@dataclass
class TrayInBrowser:
    """A tray started as a user does, listening to a WAV "microphone", with the URLs it asked a browser to open
    recorded, and an editor to dictate into."""

    tray: Any
    opened: Path
    editor: Any
    home: Path


@contextmanager
def tray_with_browser(user_desktop: Any, tmp_path: Path, monkeypatch: Any, phrases: list[Any], mic: Any,
                      **server_options: Any) -> Iterator[TrayInBrowser]:
    """The scripted server knowing `phrases`, and the tray (`python -m tray_client`) hearing `mic` (samples)."""
    from dictation_devtools.scripted_server import ScriptedServer
    from dictation_devtools.servers import free_port
    from dictation_devtools.speech import write_wav
    from tests.desktop.tray_harness import start_tray
    from tray_client.events import ClientState

    wav = write_wav(tmp_path / "mic.wav", mic)
    browser_program, opened = recording_browser(tmp_path / "browser")
    monkeypatch.setenv("BROWSER", str(browser_program))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", user_desktop.bus_address)
    editor = user_desktop.open_target(tmp_path / "editor")
    port = free_port()
    home = tmp_path / "home"
    with ScriptedServer(phrases, final_delay_s=0.3, port=port, **server_options):
        tray = start_tray(user_desktop.display, home, "--server", f"ws://127.0.0.1:{port}", "--input-wav",
                          str(wav), as_module=True)
        try:
            tray.find_icon()
            tray.wait_state(ClientState.LISTENING, 60)
            yield TrayInBrowser(tray, opened, editor, home)
        finally:
            tray.close()


def open_from_terminal(env: dict[str, str], record: Path, page: str = "settings") -> str:
    """The user runs `python -m tray_client open PAGE` while the tray runs; the URL the tray opened."""
    from tests.desktop.tray_harness import REPO_ROOT

    asked = subprocess.run([sys.executable, "-m", "tray_client", "open", page], env=env, cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=90)
    assert asked.returncode == 0, asked.stderr
    return wait_for_opened_url(record)


def show(page: Any, url_or_name: str) -> None:
    """Go to a URL or a page of the app, and wait until the page has drawn its data."""
    if url_or_name.startswith("http"):
        page.goto(url_or_name)
        name = url_or_name.rsplit("page=", 1)[-1] if "page=" in url_or_name else "settings"
    else:
        page.click(f'nav a[data-page="{url_or_name}"]')
        name = url_or_name
    page.wait_for_selector(f'main[data-ready="{name}"]')
