"""One tray app per user: a second copy would hear the same microphone and type every utterance twice.

It happens easily: the app starts at logon (the Run entry), and the user, seeing no window, starts it again from
the Start menu or a launcher. The second copy tells the user that the first one runs, and quits.

Why a lock file (filelock) in the user's log folder rather than a named mutex: one mechanism on Windows and X11,
and the operating system drops the lock when the process ends, however it ends, so a crash never leaves the app
"already running". Headless runs (`--no-tray`) take no lock: scripts may run several at once, on files.
"""

from __future__ import annotations

import logging
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["ALREADY_RUNNING", "another_copy_runs"]

log = logging.getLogger(__name__)

ALREADY_RUNNING = ("Dictation is already running: its icon is in the notification area (behind the ^ arrow when "
                   "hidden). This second copy quits, so that nothing is typed twice.")

_held: list[FileLock] = []  # the lock this process holds until it ends


def another_copy_runs(folder: Path | None = None) -> bool:
    """Whether another tray app of this user runs; if not, this process holds the lock from now on."""
    if _held:
        return False
    if folder is None:
        from tray_client.config import log_path

        folder = log_path().parent
    lock = FileLock(folder / "tray.lock", timeout=0)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        return True
    except OSError as error:  # an unwritable folder must not stop dictation: start, and say what is unchecked
        log.warning("could not check whether another copy of the app runs (%s); starting anyway", error)
        return False
    _held.append(lock)
    return False
