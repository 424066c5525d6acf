"""The web app journeys' browser: Debian's chromium driven by Playwright (never a downloaded browser), and a
stand-in for the desktop's "open this URL" that records what the app asked to open ($BROWSER, which Python's
webbrowser module honours)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dictation_devtools.polling import wait_for
from tests.conftest import _unavailable

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


def show(page: Any, url_or_name: str) -> None:
    """Go to a URL or a page of the app, and wait until the page has drawn its data."""
    if url_or_name.startswith("http"):
        page.goto(url_or_name)
        name = url_or_name.rsplit("page=", 1)[-1] if "page=" in url_or_name else "settings"
    else:
        page.click(f'nav a[data-page="{url_or_name}"]')
        name = url_or_name
    page.wait_for_selector(f'main[data-ready="{name}"]')
