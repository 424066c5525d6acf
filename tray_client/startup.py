"""A start that fails must be seen: on stderr when there is one, in the log file always, in a message box on
Windows when there is no console, and in a desktop notification on Linux when stderr is not a terminal.

Why: the launchers and the autostart entry run the tray with pythonw.exe, which has no console: sys.stderr is
None, so a broken config file (or anything else that stops the start) used to end the process without a word.
On Linux a launcher, a menu entry or the session's autostart gives the app a stderr, but one that nobody reads
(the journal, ~/.xsession-errors): so when stderr is not a terminal and there is a display, a notification says
it too (notify-send, urgency critical, so it stays until dismissed). The app then exits: a config file that says
something else than what would run is for the user to fix, not to guess around.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import subprocess
import sys
from collections.abc import Callable

__all__ = ["report_failed_start"]

TITLE = "Dictation could not start"


def report_failed_start(message: str, *, title: str = TITLE,
                        show_box: Callable[[str, str], None] | None = None) -> None:
    """Tell the user why the app did not start (see the module doc); never raises."""
    stream = sys.stderr
    unread = stream is None or not _is_terminal(stream)
    if stream is not None:
        try:
            stream.write(f"tray_client: {message}\n")
            stream.flush()
        except (OSError, ValueError):
            stream = None
    where = _append_to_log(message)
    text = message + (f"\n\nThis message is also in the log: {where}" if where else "")
    if stream is None and sys.platform == "win32":
        (show_box or _message_box)(text, title)
    elif unread and sys.platform != "win32" and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        (show_box or _desktop_notice)(text, title)


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _desktop_notice(text: str, title: str) -> None:
    """A notification that stays until dismissed; nothing if there is no notify-send (the log still has it)."""
    tool = shutil.which("notify-send")
    if tool is None:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([tool, "--urgency=critical", "--app-name=Dictation", title, text], timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def _append_to_log(message: str) -> str:
    """Append the message to the log file (even before logging is set up); its path, or "" if unwritable."""
    try:
        from tray_client.config import log_path

        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        with path.open("a", encoding="utf-8") as log_file:
            log_file.write(f"{stamp} ERROR MainThread tray_client: could not start: {message}\n")
        return str(path)
    except Exception:
        return ""


def _message_box(text: str, title: str) -> None:
    import ctypes

    mb_ok, mb_iconerror, mb_setforeground = 0x0, 0x10, 0x10000
    ctypes.windll.user32.MessageBoxW(None, text, title, mb_ok | mb_iconerror | mb_setforeground)  # type: ignore[attr-defined]
