"""Which pystray backend draws the tray on Linux, and the one fix its GTK backend needs.

pystray tries AppIndicator, then GTK, then plain X11 (XEmbed). Without PyGObject (`gi`) in the venv it silently
took the X11 one, which has no menu and no tooltip (so Settings, Recent, Diagnostics and Quit were unreachable)
and paints each icon on a black square. With `gi` (the distribution's python3-gi, which scripts/start.sh links
into the venv) the choice is made here, before pystray is imported:

- a StatusNotifier host on the session bus (KDE, GNOME with the AppIndicator extension, Ubuntu, XFCE/MATE/Cinnamon
  panels): AppIndicator, the only thing those desktops show; it has a menu but no tooltip (the protocol's
  libraries do not offer one);
- otherwise an XEmbed tray (trayer, stalonetray, LXDE, older panels): GTK's StatusIcon, with menu and tooltip,
  drawn from a PNG with its alpha channel (no black square);
- no `gi`: the X11 backend as before, and the user is told how to get the menu.

PYSTRAY_BACKEND, when set, wins (the tests pin backends with it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = ["NO_BUS_ADVICE", "NO_MENU_ADVICE", "BackendChoice", "choose_backend", "fix_gtk_backend", "select_backend"]

log = logging.getLogger(__name__)

APP_ID = "qwen-dictation"
SNI_WATCHERS = ("org.kde.StatusNotifierWatcher", "org.freedesktop.StatusNotifierWatcher")
NO_MENU_ADVICE = ("The tray icon has no menu (Settings, Recent, Quit) because PyGObject is missing: install the "
                  "packages python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 (apt) and run "
                  "scripts/start.sh again (it links them into its venv).")

NO_BUS_ADVICE = ("The tray icon has no menu (Settings, Recent, Quit) because no D-Bus session bus is running: "
                 "start the app from a desktop session (or under dbus-run-session).")


@dataclass(frozen=True)
class BackendChoice:
    backend: str | None  # the pystray backend name, None: leave it to pystray (not Linux)
    why: str
    advice: str = ""  # for the user, when the choice loses something (no menu)


def choose_backend(env: MutableMapping[str, str], *, platform: str = sys.platform,
                   has_gtk: Callable[[], bool] | None = None,
                   has_indicator: Callable[[], bool] | None = None,
                   sni_host: Callable[[], bool] | None = None,
                   session_bus: Callable[[], bool] | None = None) -> BackendChoice:
    """The backend for this desktop; the probes are parameters so the rule is tested without a desktop."""
    pinned = env.get("PYSTRAY_BACKEND")
    if pinned:
        return BackendChoice(pinned, "PYSTRAY_BACKEND is set")
    if not platform.startswith("linux"):
        return BackendChoice(None, "not Linux: pystray's own choice")
    if not (has_gtk or _has_gtk)():
        return BackendChoice("xorg", "PyGObject (gi) with GTK 3 is not importable", NO_MENU_ADVICE)
    if not (session_bus or _session_bus)():
        # pystray's GTK backends open a D-Bus notifier at start and fail without a bus (it tries dbus-launch):
        # every desktop session has one; a bare X server (a kiosk, a test display) may not.
        return BackendChoice("xorg", "no D-Bus session bus, which pystray's GTK backends need", NO_BUS_ADVICE)
    if (sni_host or _sni_host)() and (has_indicator or _has_indicator)():
        return BackendChoice("appindicator", "a StatusNotifier host runs on the session bus")
    return BackendChoice("gtk", "no StatusNotifier host: an XEmbed tray gets GTK's StatusIcon")


def select_backend(env: MutableMapping[str, str] | None = None) -> BackendChoice:
    """Choose, and pin the choice in the environment for pystray's import; call before `import pystray`."""
    env = os.environ if env is None else env
    choice = choose_backend(env)
    if choice.backend is not None:
        env["PYSTRAY_BACKEND"] = choice.backend
        if choice.backend in ("gtk", "appindicator"):
            _name_the_program()
    log.info("tray backend: %s (%s)", choice.backend or "pystray's default", choice.why)
    if choice.advice:
        log.warning("%s", choice.advice)
    return choice


def fix_gtk_backend(icon: Any) -> None:
    """Fixes to pystray's GTK backends; call before `icon.run()`.

    - Its start opens a D-Bus proxy to the notification daemon and fails the whole app when that daemon cannot
      start (seen with a daemon that needs a display it was not given): notifications then go through
      notify-send instead (ui/tray/notify.py), the tray still starts.
    - Its start puts SIGINT back to the default, which would end the app on Ctrl+C without its Quit path: our
      handler is put back.
    - The GTK StatusIcon backend sets only the title, which no tray shows: it is made the tooltip too.
    """
    if not type(icon).__module__.endswith(("._gtk", "._appindicator")):
        return
    initialize = icon._initialize

    def initialize_tolerantly() -> None:
        handler = signal.getsignal(signal.SIGINT)
        try:
            initialize()
        except Exception as error:  # GLib.GError from the notifier proxy; nothing else runs after it
            log.warning("the tray cannot show notifications itself (%s); using notify-send", error)
            icon.HAS_NOTIFICATION = False
            icon._notifier = _NoNotifier()  # pystray's stop hides "the" notification through it
            icon._mark_ready()
        finally:
            with contextlib.suppress(ValueError, TypeError):  # not the main thread / a handler set from C
                signal.signal(signal.SIGINT, handler)

    icon._initialize = initialize_tolerantly
    if not type(icon).__module__.endswith("._gtk"):
        return
    status_icon = icon._status_icon
    update_title = icon._update_title  # pystray's, already run on the GTK loop by its @mainloop

    def update_title_and_tooltip() -> None:
        update_title()
        _on_gtk_loop(lambda: status_icon.set_tooltip_text(icon.title or None))

    icon._update_title = update_title_and_tooltip
    status_icon.set_tooltip_text(icon.title or None)  # before the loop runs: the first title


class _NoNotifier:
    """Stands in for pystray's D-Bus notifier when there is none (ui/tray/notify.py uses notify-send instead)."""

    def notify(self, title: str, message: str, icon: str) -> None:
        log.debug("no tray notifier: %s: %s", title, message)

    def hide(self) -> None:
        """Nothing is shown, so nothing to hide."""


def _on_gtk_loop(action: Callable[[], None]) -> None:
    from gi.repository import GLib

    def once() -> bool:
        action()
        return False

    GLib.idle_add(once)


def _has_gtk() -> bool:
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401 - the import is the test
    except (ImportError, ValueError):
        return False
    return True


def _has_indicator() -> bool:
    import gi

    for name in ("AyatanaAppIndicator3", "AppIndicator3"):  # the ones pystray's backend tries
        try:
            gi.require_version(name, "0.1")
            return True
        except ValueError:
            continue
    return False


def _session_bus() -> bool:
    """Whether a session bus is there to connect to (without starting one: that is what failed)."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not address:
        return os.path.exists(f"/run/user/{os.getuid()}/bus")  # systemd's per-user bus, found without the variable
    path = next((part.split("=", 1)[1] for part in address.split(",") if part.startswith(("unix:path=", "path="))),
                None)
    return path is None or os.path.exists(path)  # an abstract socket or TCP: trust the variable


def _sni_host() -> bool:
    """Whether a StatusNotifierWatcher owns its name on the session bus."""
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        for name in SNI_WATCHERS:
            reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                  "NameHasOwner", GLib.Variant("(s)", (name,)), GLib.VariantType("(b)"),
                                  Gio.DBusCallFlags.NONE, 2000, None)
            if reply.unpack()[0]:
                return True
    except Exception as error:  # any bus trouble means no host we can use
        log.debug("no session bus to look for a StatusNotifier host: %s", error)
    return False


def _name_the_program() -> None:
    """GTK names its windows' WM_CLASS after the program: ours, not "python3" (tests and window rules find it)."""
    with contextlib.suppress(Exception):
        from gi.repository import GLib

        GLib.set_prgname(APP_ID)
