"""A user's desktop for journey tests: Xvfb with a window manager (openbox), a system tray (trayer), a session
D-Bus and a notification daemon (dunst), so a journey reads back what a user sees, notifications included.

The plain test display (`desktop.start_display`) has no window manager and no notification daemon: there the app
only logs its notices. Here they are real notifications (the app's `notify-send`), read back from dunst's history.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dictation_devtools.desktop import DesktopUnavailable, TkTarget, XDisplay, start_display, start_tk_target
from dictation_devtools.polling import wait_for

USER_DESKTOP_TOOLS = ("openbox", "dunst", "dunstctl", "dbus-daemon", "notify-send")


def missing_user_desktop_tools() -> list[str]:
    return [tool for tool in USER_DESKTOP_TOOLS if shutil.which(tool) is None]


@dataclass(frozen=True)
class Notification:
    """One notification as dunst showed it."""

    app: str
    summary: str
    body: str


@dataclass
class UserDesktop:
    """A display with a window manager, a tray, a session bus and a notification daemon."""

    display: XDisplay
    bus_address: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="user-desktop-")))

    def env(self) -> dict[str, str]:
        """The environment a program started on this desktop gets (DISPLAY and the session bus)."""
        return {**self.display.env(), "DBUS_SESSION_BUS_ADDRESS": self.bus_address}

    def open_target(self, state_dir: Path, wm_class: str | None = None) -> TkTarget:
        """A focused Tk text window, the app the user dictates into."""
        return start_tk_target(self.display, state_dir, wm_class)

    def notifications(self) -> list[Notification]:
        """Every notification closed so far, oldest first (dunst's history: `wait_for_notification` closes the
        ones on screen first)."""
        result = subprocess.run(["dunstctl", "history"], env=self.env(), capture_output=True, text=True,
                                timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"dunstctl history failed: {result.stderr.strip()}")
        found = [Notification(app=entry["appname"]["data"], summary=entry["summary"]["data"],
                              body=entry["body"]["data"])
                 for group in json.loads(result.stdout).get("data", []) for entry in group]
        return list(reversed(found))

    def wait_for_notification(self, needle: str, timeout: float = 30.0) -> Notification:
        """The first notification whose summary or body holds `needle`; fail with every one seen if none does."""
        self._close_shown()
        match: list[Notification] = []

        def seen() -> bool:
            self._close_shown()
            match[:] = [n for n in self.notifications() if needle in n.summary or needle in n.body]
            return bool(match)

        if not wait_for(seen, timeout, 0.1):
            raise AssertionError(f"no notification holds {needle!r}; shown: {self.notifications()}")
        return match[0]

    def _close_shown(self) -> None:
        """Move the notifications on screen into the history, where `dunstctl history` reads them."""
        subprocess.run(["dunstctl", "close-all"], env=self.env(), capture_output=True, timeout=10)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
        self.display.close()
        shutil.rmtree(self.home, ignore_errors=True)


def start_user_desktop() -> UserDesktop:
    """Start Xvfb + trayer, then a session bus, openbox and dunst on it."""
    missing = missing_user_desktop_tools()
    if missing:
        raise DesktopUnavailable(f"missing {', '.join(missing)}: apt-get install openbox dunst dbus-x11 "
                                 "libnotify-bin")
    display = start_display()
    desktop = UserDesktop(display=display, bus_address="")
    try:
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                               env=display.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        desktop.processes.append(bus)
        desktop.bus_address = bus.stdout.readline().strip()
        if not desktop.bus_address:
            raise DesktopUnavailable("dbus-daemon --session printed no address")
        config = desktop.home / "dunstrc"
        # No timeout: a notice stays until the test reads it. Markup on, as in a desktop's default daemon.
        config.write_text("[global]\n    markup = full\n[urgency_low]\n    timeout = 0\n"
                          "[urgency_normal]\n    timeout = 0\n[urgency_critical]\n    timeout = 0\n")
        env = {**desktop.env(), "HOME": str(desktop.home)}
        desktop.processes.append(subprocess.Popen(["openbox", "--sm-disable"], env=env,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        desktop.processes.append(subprocess.Popen(["dunst", "-config", str(config)], env=env,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ready = wait_for(lambda: subprocess.run(["dunstctl", "is-paused"], env=desktop.env(),
                                                capture_output=True).returncode == 0, 20, 0.1)
        if not ready:
            raise DesktopUnavailable("dunst did not take the notification service on the session bus")
        if not wait_for(lambda: _window_manager_running(desktop.env()), 20, 0.1):
            raise DesktopUnavailable("openbox did not start on the test display")
    except BaseException:
        desktop.close()
        raise
    return desktop


def _window_manager_running(env: dict[str, str]) -> bool:
    """True once a window manager announces itself (_NET_SUPPORTING_WM_CHECK on the root window)."""
    result = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=env, capture_output=True,
                            text=True)
    return result.returncode == 0 and "window id" in result.stdout

