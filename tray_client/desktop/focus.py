"""The one answer to "which window and app has the keyboard focus", on Windows and X11.

A `Focus` names the window (the HWND on Windows, the X id of the app's top-level client window on X11), the
app (process name on Windows, WM_CLASS on X11) and the process id. The text stage pins each utterance to the
Focus it started in, the sinks check it again before typing, undo compares windows with it, and the history
records the app a final really went to; so all of them agree on what "the window" is.

Why the X11 answer starts from the input focus and not from _NET_ACTIVE_WINDOW: keys go to the input focus.
_NET_ACTIVE_WINDOW is only what the window manager last said, and it is used only when the focus is on the root
(PointerRoot). From the focus we walk up to the window that carries WM_CLASS (the app's client window; a
reparenting window manager puts its frame above it).

"Our own windows": the process's windows (Windows: the window's process id; X11: _NET_WM_PID, else the X
server's X-Resource answer, since Tk sets no _NET_WM_PID) and any ids registered with `own_windows`. Keys typed there would close our menu or
land in our Settings, so a final never goes there (see pinning).

A lookup never raises: what it cannot tell (no X server, a window that closed while we looked, an elevated
process) comes back empty, and the callers treat an empty Focus as "unknown".
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["Focus", "OwnWindows", "current_focus", "focused_window", "foreground_app", "foreground_names",
           "give_focus_back", "keyboard_grabbed", "own_windows"]

log = logging.getLogger(__name__)

_x11 = threading.local()  # one X connection per thread that asks (Xlib connections are not thread-safe)


@dataclass(frozen=True)
class Focus:
    """Where the keyboard focus is: `window` ("" when none or unknown), the app's names (most specific first:
    ("notepad.exe",) or (WM_CLASS class, instance)) and its process id (None when unknown)."""

    window: str = ""
    names: tuple[str, ...] = ()
    pid: int | None = None

    @property
    def app(self) -> str:
        """The app's name for history and logs ("" when unknown)."""
        return self.names[0] if self.names else ""

    @property
    def known(self) -> bool:
        return bool(self.window)


class OwnWindows:
    """Window ids of this process that the OS cannot attribute to it (Tk on X11); thread-safe."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, window: str) -> None:
        with self._lock:
            self._ids.add(window)

    def discard(self, window: str) -> None:
        with self._lock:
            self._ids.discard(window)

    def __contains__(self, window: object) -> bool:
        with self._lock:
            return window in self._ids

    def owns(self, focus: Focus, pid: int | None = None) -> bool:
        """Whether `focus` is on one of this process's windows (by process id or registered id)."""
        return focus.known and (focus.pid == (os.getpid() if pid is None else pid) or focus.window in self)


own_windows = OwnWindows()
"""The process's registry: the overlay and the Settings window add their top-level ids here."""


def current_focus() -> Focus:
    """The window with the keyboard focus now; an empty Focus when there is none or it cannot be told."""
    try:
        if sys.platform == "win32":
            return _windows_focus()
        if os.environ.get("DISPLAY"):
            return _x11_focus()
    except Exception as error:  # a lookup must never cost a dictation
        log.debug("no focused window (%s)", error)
        _x11.display = None  # a broken X connection is opened again next time
    return Focus()


def foreground_names() -> tuple[str, ...]:
    """Names of the focused app, most specific first (profiles pick with them)."""
    return current_focus().names


def foreground_app() -> str:
    """The focused app's name, "" when unknown."""
    return current_focus().app


def focused_window() -> str:
    """The focused window's id, "" when none or unknown (undo compares it)."""
    return current_focus().window


def keyboard_grabbed() -> bool:
    """X11: whether a client holds an active keyboard grab (an open menu, a held hotkey chord). Synthetic keys
    go to the grabbing client then, not to the focused window. Always False on Windows."""
    if sys.platform == "win32" or not os.environ.get("DISPLAY"):
        return False
    try:
        from Xlib import X

        display = _x11_display()
        root = display.screen().root
        status = root.grab_keyboard(False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime)
        if status == X.GrabSuccess:
            display.ungrab_keyboard(X.CurrentTime)
            display.sync()
            return False
        return status == X.AlreadyGrabbed
    except Exception as error:
        log.debug("cannot tell whether the keyboard is grabbed (%s)", error)
        _x11.display = None
        return False


def give_focus_back(pinned: Focus, now: Focus) -> bool:
    """Windows: after our tray menu closed, the foreground stays on pystray's hidden window (TrackPopupMenu
    needs it there), so the user's window never gets the focus back by itself. When the foreground is an
    invisible window of ours and no popup menu is showing, hand it back to the pinned window (if it still
    exists and is visible); True when that was done. X11 menus do not move the focus: nothing to do there."""
    if sys.platform != "win32" or not pinned.known or not now.known or now.pid != os.getpid():
        return False
    try:
        import ctypes
        from ctypes import wintypes

        user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
        for name in ("IsWindowVisible", "IsWindow", "SetForegroundWindow"):
            getattr(user32, name).argtypes = [wintypes.HWND]
        user32.FindWindowW.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR]
        user32.FindWindowW.restype = wintypes.HWND
        if user32.IsWindowVisible(int(now.window)):
            return False  # a window of ours the user sees (Settings): they are working there
        menu = user32.FindWindowW("#32768", None)  # the popup menu's window class
        if menu and user32.IsWindowVisible(menu):
            return False
        target = int(pinned.window)
        if not (user32.IsWindow(target) and user32.IsWindowVisible(target)):
            return False
        return bool(user32.SetForegroundWindow(target))
    except Exception as error:
        log.debug("could not give the focus back (%s)", error)
        return False


# ----- Windows -----------------------------------------------------------------------------------------------

def _windows_focus() -> Focus:
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    user32.GetForegroundWindow.restype = wintypes.HWND
    user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
    window = user32.GetForegroundWindow()
    if not window:
        return Focus()
    pid = wintypes.DWORD()
    user32.GetWindowThreadProcessId(window, ctypes.byref(pid))
    name = _windows_process_name(pid.value)
    return Focus(str(window), (name,) if name else (), pid.value or None)


def _windows_process_name(pid: int) -> str:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    kernel32.QueryFullProcessImageNameW.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.LPWSTR,
                                                    ctypes.POINTER(wintypes.DWORD)]
    process_query_limited_information = 0x1000  # enough for the image name, also for most elevated processes
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ""
    try:
        size = wintypes.DWORD(1024)
        buffer = ctypes.create_unicode_buffer(size.value)
        if not kernel32.QueryFullProcessImageNameW(handle, 0, buffer, ctypes.byref(size)):
            return ""
        return buffer.value.replace("/", "\\").rsplit("\\", 1)[-1]
    finally:
        kernel32.CloseHandle(handle)


# ----- X11 ---------------------------------------------------------------------------------------------------

def _x11_display() -> Any:  # an Xlib Display (Xlib has no type hints)
    display = getattr(_x11, "display", None)
    if display is None or getattr(_x11, "name", None) != os.environ.get("DISPLAY"):
        from Xlib import display as xdisplay

        display = _x11.display = xdisplay.Display()
        _x11.name = os.environ.get("DISPLAY")
    return display


def _x11_focus() -> Focus:
    from Xlib import X, error

    display = _x11_display()
    root = display.screen().root
    window: Any = display.get_input_focus().focus
    if isinstance(window, int) or window.id == root.id:  # PointerRoot or None: ask the window manager
        active = root.get_full_property(display.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if active is None or not active.value or not active.value[0]:
            return Focus()
        window = display.create_resource_object("window", active.value[0])
    try:
        top = None
        while window is not None and window.id != root.id:
            wm_class = window.get_wm_class()
            if wm_class:
                instance, klass = wm_class
                names = tuple(dict.fromkeys(name for name in (klass, instance) if name))
                return Focus(str(window.id), names, _x11_pid(display, window))
            top = window
            parent = window.query_tree().parent
            window = parent if parent and not isinstance(parent, int) else None
        return Focus(str(top.id)) if top is not None else Focus()
    except error.BadWindow:  # the window closed while we looked
        return Focus()


def _x11_pid(display: Any, window: Any) -> int | None:
    """The process that owns `window`: _NET_WM_PID, else the X server's own answer (X-Resource), which also
    knows Tk's windows (Tk sets no _NET_WM_PID) and cannot be spoofed by a property."""
    from Xlib import X

    prop = window.get_full_property(display.intern_atom("_NET_WM_PID"), X.AnyPropertyType)
    if prop is not None and len(prop.value):
        return int(prop.value[0])
    try:
        from Xlib.ext import res

        if not display.has_extension("X-Resource"):
            return None
        reply = display.res_query_client_ids([{"client": window.id, "mask": res.LocalClientPIDMask}])
        values = [value for client in reply.ids for value in client.value]
        return int(values[0]) if values else None
    except Exception as error:  # an old server without X-Resource 1.2
        log.debug("no client pid from X-Resource (%s)", error)
        return None
