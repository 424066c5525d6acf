"""Opening the web app: in the default browser (the `webbrowser` module: the desktop's default, or $BROWSER), and
`python -m tray_client open [PAGE]` from a terminal or a launcher.

The running tray writes its login URL to `webapp.url` beside its lock (the user's log folder, readable by the
user only) when its server starts; `open` uses that URL while the tray runs, so settings apply at once. When the
tray's server has not started yet (it starts on first use), `open` asks the tray to start it and open the page:
on Linux with SIGUSR1 (the tray's pid is in `tray.pid`, the page in `webapp.page`). With no tray running, or on
Windows before the tray's server started, `open` serves the web app itself until Ctrl+C: settings, history,
dictionary and profiles all work on the files (settings then apply at the tray's next start); what needs the
tray (Type again) says so.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

__all__ = ["main", "open_in_browser", "publish_pid", "publish_url", "requested_page", "running_url",
           "tray_runs"]

log = logging.getLogger(__name__)

URL_FILE = "webapp.url"
PID_FILE = "tray.pid"
PAGE_FILE = "webapp.page"
ASK_TIMEOUT_S = 30.0
USAGE = "usage: python -m tray_client open [settings|history|dictionary|profiles|stats]"


def _folder() -> Path:
    from tray_client.config import log_path

    return log_path().parent


def publish_url(url: str, folder: Path | None = None) -> None:
    """Leave the running tray's URL where `open` finds it (owner-only: it holds the login secret)."""
    path = (folder or _folder()) / URL_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(url.split("&page=")[0] + "\n")
    except OSError as error:  # only `open` from a terminal needs it; the menu item works without
        log.warning("could not write %s (%s); `python -m tray_client open` will start its own", path, error)


def publish_pid(folder: Path | None = None) -> None:
    """The tray's pid, for `open` to signal (POSIX only; Windows has no SIGUSR1)."""
    if not hasattr(signal, "SIGUSR1"):
        return
    folder = folder or _folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PID_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
        (folder / URL_FILE).unlink(missing_ok=True)  # an ended run's URL is dead
    except OSError as error:
        log.warning("could not write %s (%s); `python -m tray_client open` will start its own", folder, error)


def requested_page(folder: Path | None = None) -> str:
    """The page `open` asked for (settings when none or unreadable); the request is used up."""
    path = (folder or _folder()) / PAGE_FILE
    try:
        page = path.read_text(encoding="utf-8").strip()
        path.unlink()
    except OSError:
        return "settings"
    return page or "settings"


def _ask_tray(page: str, folder: Path) -> str | None:
    """Ask the running tray to open `page` (it starts its server and the browser); its URL, or None."""
    if not hasattr(signal, "SIGUSR1"):
        return None
    try:
        pid = int((folder / PID_FILE).read_text(encoding="utf-8"))
        (folder / PAGE_FILE).write_text(page, encoding="utf-8")
        os.kill(pid, signal.SIGUSR1)
    except (OSError, ValueError):
        return None
    deadline = time.monotonic() + ASK_TIMEOUT_S
    while time.monotonic() < deadline:  # the tray writes the file once its server listens
        url = running_url(folder)
        if url is not None:
            return url
        time.sleep(0.1)
    return None


def tray_runs(folder: Path | None = None) -> bool:
    from filelock import FileLock, Timeout

    lock = FileLock((folder or _folder()) / "tray.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def running_url(folder: Path | None = None) -> str | None:
    """The running tray's login URL, or None when no tray runs (a file left by an ended run is ignored)."""
    folder = folder or _folder()
    path = folder / URL_FILE
    if not path.exists():
        return None
    if tray_runs(folder):
        return path.read_text(encoding="utf-8").strip() or None
    path.unlink(missing_ok=True)
    return None


def open_in_browser(url: str, on_error: Callable[[str], None]) -> None:
    """Open `url` on a short-lived thread (a browser start can take seconds); a failure is reported."""
    def work() -> None:
        try:
            opened = webbrowser.open(url)
        except Exception as error:
            opened, why = False, str(error)
        else:
            why = "no browser was found"
        if not opened:
            on_error(f"Could not open a browser ({why}); open {url.split('?')[0]} after signing in from the tray")

    threading.Thread(target=work, name="open-browser", daemon=True).start()


def main(argv: list[str]) -> int:
    """`python -m tray_client open [PAGE]` (see the module doc)."""
    from tray_client.webapp.server import PAGES

    page = argv[0] if argv else "settings"
    if page not in PAGES or len(argv) > 1:
        print(USAGE, file=sys.stderr)
        return 2
    folder = _folder()
    url = running_url(folder)
    if url is not None:
        url = f"{url}&page={page}"
        print(url)
        return 0 if webbrowser.open(url) else 1
    if tray_runs(folder):
        url = _ask_tray(page, folder)
        if url is not None:  # the tray opened the browser itself
            print(f"{url}&page={page}")
            return 0
    from tray_client.capture.audio_source import list_input_devices
    from tray_client.capture.level import MicLevel
    from tray_client.ui.tray.diagnostics import health_summary
    from tray_client.webapp.api import AppHooks
    from tray_client.webapp.server import WebServer

    server = WebServer(AppHooks(health=health_summary, devices=list_input_devices, level=MicLevel))
    url = server.start().login_url(page)
    print(f"The tray app is not running: serving the settings here until Ctrl+C.\n{url}", flush=True)
    webbrowser.open(url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
