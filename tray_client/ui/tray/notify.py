"""Tray notifications for problems the user must act on (server unreachable, microphone missing).

Why a module: the backends differ. pystray's win32 (balloon / toast) and appindicator backends can notify;
its plain X11 (XEmbed) backend cannot, so there `notify-send` is used when installed. Every notification is
also logged at WARNING, so it is never lost. The same message is not repeated within `repeat_after_s`: a server
that stays down must not flood the user.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tray_client.ui.tray._fit import NOTIFY_MESSAGE_MAX, NOTIFY_TITLE_MAX, shorten

__all__ = ["Notifier"]

log = logging.getLogger(__name__)

TITLE = "Dictation"


class Notifier:
    """Shows a notification through the tray icon, or `notify-send`, or only the log."""

    def __init__(
        self,
        icon: Any = None,
        *,
        enabled: bool = True,
        repeat_after_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.icon = icon
        self.enabled = enabled
        self.repeat_after_s = repeat_after_s
        self._clock = clock
        self._last_shown: dict[str, float] = {}

    def notify(self, message: str, title: str = TITLE) -> bool:
        """Show `message` unless notifications are off or it was shown recently; return whether it was."""
        now = self._clock()
        last = self._last_shown.get(message)
        if last is not None and now - last < self.repeat_after_s:
            log.debug("notification not repeated: %s", message)
            return False
        self._last_shown[message] = now
        log.warning("notification: %s", message)
        if not self.enabled:
            return False
        if self.icon is not None and getattr(self.icon, "HAS_NOTIFICATION", False):
            try:
                # Windows' balloon holds 255 UTF-16 units (see _fit); the log above has the whole message.
                self.icon.notify(_as_body(shorten(message, NOTIFY_MESSAGE_MAX, keep="start")),
                                 shorten(title, NOTIFY_TITLE_MAX, keep="start"))
                return True
            except Exception:  # a broken notification backend must not take the tray down
                log.debug("the tray backend could not show a notification", exc_info=True)
        return _notify_send(message, title)


def _as_body(message: str) -> str:
    """A notification body as the desktop shows it. Linux notification servers read the body as markup, so a
    placeholder such as "<token>" or a hotkey such as "<ctrl>+<f9>" vanished from the message; Windows shows
    plain text."""
    return message if sys.platform == "win32" else html.escape(message, quote=False)


def _notify_send(message: str, title: str) -> bool:
    """Linux desktops without a tray notification API: libnotify's command line tool, fire and forget."""
    if shutil.which("notify-send") is None:
        log.debug("no notify-send; the notification is only in the log")
        return False
    try:
        subprocess.Popen(["notify-send", "--app-name", TITLE, title, _as_body(message)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        log.debug("notify-send failed", exc_info=True)
        return False
    return True
