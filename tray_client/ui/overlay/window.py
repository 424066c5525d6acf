"""The live preview overlay: a small always-on-top Tk window near the bottom centre of the monitor that holds
the focused window. It never takes the focus and lets clicks through.

Thread: the overlay owns one thread ("overlay") that runs its own Tk interpreter; nothing else touches Tk.
Way in: `post()` puts events on a SimpleQueue (safe from the pipeline thread: a listener that never blocks);
the Tk loop drains it every POLL_MS while shown. While hidden it sleeps: on X11 (POSIX) `post()` writes a byte to
a pipe that Tk watches (createfilehandler), so a hidden overlay costs no wake-ups at all; where Tk cannot watch a
file (Windows) the byte goes over a loopback socket to a Tcl socket server in the overlay's interpreter, whose
`fileevent` wakes Tk the same way. Only if neither can be set up does it poll every IDLE_POLL_MS. `close()` asks the loop to end, destroys the window and joins the thread.

Never the focus, click-through:
- Windows: the toplevel gets WS_EX_NOACTIVATE | WS_EX_TRANSPARENT | WS_EX_TOOLWINDOW | WS_EX_LAYERED (and
  WS_EX_TOPMOST), so it is never activated, mouse input goes to the window below, and it has no taskbar
  button; it is shown with SW_SHOWNOACTIVATE.
- X11: an override-redirect window (the window manager neither decorates nor focuses it) whose input shape is
  empty (XShape), so clicks fall through to the window below.
Readable on light or dark backgrounds: light text on a near-opaque dark panel with a light 1-px border.
DPI: sizes are in points, scaled by Tk's pixels per point (the process is made DPI-aware on Windows).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import queue
import socket
import sys
import threading
import time
from typing import Any

from tray_client.events import FinalText, PartialText, StateChanged
from tray_client.ui.overlay.model import OverlayModel, OverlayView

__all__ = ["OVERLAY_TITLE", "Overlay"]

log = logging.getLogger(__name__)

OVERLAY_TITLE = "Dictation overlay"
POLL_MS = 40  # while shown: smooth enough for the fade
IDLE_POLL_MS = 120  # while hidden: a state change shows within 0.12 s, and idle costs a third
CLOSE_TIMEOUT_S = 2.0
BOTTOM_MARGIN_PT = 60  # above the taskbar
WIDTH_FRACTION = 0.5  # of the monitor's width, at most
COLOURS = {"panel": "#1e1f22", "border": "#d0d0d0", "text": "#ffffff", "idle": "#b0b0b0", "speech": "#ff6b6b",
           "busy": "#6cb6ff", "done": "#7ee787", "problem": "#ffb454"}


class Overlay:
    """Start it once; post pipeline events and latencies to it from any thread; close it on Quit."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="overlay", daemon=True)
        self._enabled = enabled
        self._started = threading.Event()
        self._wake_lock = threading.Lock()
        self._wake: tuple[int, int] | None = None  # (read, write): a byte wakes the hidden overlay (POSIX)
        self._wake_socket: socket.socket | None = None  # where Tk cannot watch the pipe: a byte sent here wakes it
        if os.name == "posix":
            self._wake = os.pipe()
            os.set_blocking(self._wake[0], False)
            os.set_blocking(self._wake[1], False)
        self.failed: str | None = None  # why the overlay could not run (logged; the app goes on without it)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def post(self, event: Any) -> None:
        """A pipeline event (state, partial, final); anything else is ignored. Never blocks."""
        if isinstance(event, StateChanged | PartialText | FinalText):
            self._put(event)

    def latency(self, seconds: float | None) -> None:
        self._put(("latency", seconds))

    def set_enabled(self, enabled: bool) -> None:
        self._put(("enabled", enabled))

    def _put(self, item: Any) -> None:
        self._inbox.put(item)
        with self._wake_lock:  # never a write to a closed (and perhaps reused) descriptor
            if self._wake is not None:
                with contextlib.suppress(OSError):  # a full pipe already wakes it
                    os.write(self._wake[1], b"\0")
            elif self._wake_socket is not None:
                with contextlib.suppress(OSError):  # a full socket buffer already wakes it
                    self._wake_socket.send(b"\0")

    def _close_wake(self) -> None:
        with self._wake_lock:
            if self._wake is not None:
                for fd in self._wake:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                self._wake = None
            if self._wake_socket is not None:
                self._wake_socket.close()
                self._wake_socket = None

    def close(self) -> None:
        if self._thread.is_alive():
            self._put(("close", None))
            self._thread.join(CLOSE_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("overlay: its thread did not end within %.1f s", CLOSE_TIMEOUT_S)

    # ----- the overlay thread -----
    def _connect_wake_socket(self, window: _Window, woken: Any) -> bool:
        """Where Tk cannot watch a pipe: a Tcl socket server in the overlay's interpreter calls `woken` when a
        byte arrives; `_put` sends one. False (the overlay polls) when it cannot be set up."""
        try:
            port = window.serve_wakes(woken)
            connection = socket.create_connection(("127.0.0.1", port), timeout=CLOSE_TIMEOUT_S)
            connection.setblocking(False)
        except Exception as error:  # Tcl without sockets, loopback refused: polling still works
            log.warning("overlay: no wake-up socket (%s); polling every %d ms while hidden", error, IDLE_POLL_MS)
            return False
        with self._wake_lock:
            self._wake_socket = connection
        return True

    def _main(self) -> None:
        try:
            window = _Window()
        except Exception as error:  # no display, no Tk: dictation works without the overlay
            self.failed = f"the overlay cannot open a window ({error})"
            log.warning("overlay: %s", self.failed)
            self._close_wake()
            self._started.set()
            return
        model = OverlayModel()
        model.enabled = self._enabled
        wake_fd = self._wake[0] if self._wake is not None and window.can_watch() else None
        loop = _Loop(window, model, self._inbox, wake_fd)
        if wake_fd is None:
            self._close_wake()  # the pipe is not watched: wake over a loopback socket instead
            loop.sleeps = self._connect_wake_socket(window, loop.woken)
        self._started.set()
        try:
            loop.run()
        except Exception:
            self.failed = "the overlay stopped"
            log.exception("overlay: failed")
        finally:
            # Tcl must be torn down on the thread that created it: drop every reference (Tk's pending
            # callbacks hold the loop) and collect here, not later on whichever thread runs the GC
            # ("Tcl_AsyncDelete: async handler deleted by the wrong thread" aborts the process at exit).
            loop.window = None
            if wake_fd is not None:
                window.unwatch(wake_fd)
            window.release()
            self._close_wake()
            del window, loop
            gc.collect()


class _Loop:
    """The overlay thread's Tk loop: drain the inbox every POLL_MS, redraw when the view changes."""

    def __init__(self, window: _Window, model: OverlayModel, inbox: queue.SimpleQueue[Any],
                 wake_fd: int | None = None) -> None:
        self.window: _Window | None = window
        self._model = model
        self._inbox = inbox
        self._shown = OverlayView()
        self._wake_fd = wake_fd  # readable when something was posted
        self.sleeps = wake_fd is not None  # a posted item wakes the loop (pipe or socket); False: poll while hidden
        self._scheduled = False  # a tick is due (after()); a wake-up then leaves the draining to it

    def run(self) -> None:
        assert self.window is not None
        if self._wake_fd is not None:
            self.window.watch(self._wake_fd, self._woken)
        self._schedule(POLL_MS)
        self.window.mainloop()

    def _schedule(self, ms: int) -> None:
        assert self.window is not None
        self._scheduled = True
        self.window.after(ms, self._tick)

    def _woken(self, fd: int, mask: int) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: drained already
            while os.read(fd, 4096):
                pass
        self.woken()

    def woken(self) -> None:
        """Something was posted: drain it now, unless a tick is due anyway."""
        if not self._scheduled and self.window is not None:
            self._tick()

    def _tick(self) -> None:
        self._scheduled = False
        window = self.window
        if window is None:
            return
        now = time.monotonic()
        try:
            while True:
                item = self._inbox.get_nowait()
                if isinstance(item, tuple) and item[0] == "close":
                    window.destroy()  # mainloop returns
                    return
                _apply(self._model, item, now)
        except queue.Empty:
            pass
        view = self._model.view(now)
        if view != self._shown:
            window.show(view)
            self._shown = view
        if view.visible:
            self._schedule(POLL_MS)  # the fade and the hold run on time
        elif not self.sleeps:
            self._schedule(IDLE_POLL_MS)
        # else: hidden, and only a posted event can show it again: sleep until the pipe wakes Tk


def _apply(model: OverlayModel, item: Any, now: float) -> None:
    if isinstance(item, StateChanged):
        model.state(item.state, item.detail, now)
    elif isinstance(item, PartialText):
        model.partial(item.text, now)
    elif isinstance(item, FinalText):
        if item.text:
            model.final(item.text, now)
    elif isinstance(item, tuple) and item[0] == "latency":
        model.latency(item[1])
    elif isinstance(item, tuple) and item[0] == "enabled":
        model.enabled = bool(item[1])


class _Window:
    """The Tk toplevel and its two labels; every method runs on the overlay thread."""

    def __init__(self) -> None:
        import tkinter as tk

        if sys.platform == "win32":
            _win32_dpi_aware()
        self._root = root = tk.Tk(className="qwen-dictation-overlay")
        root.withdraw()
        root.title(OVERLAY_TITLE)
        root.overrideredirect(True)  # X11: override-redirect; Windows: no frame
        root.attributes("-topmost", True)
        self._scale = max(1.0, root.winfo_fpixels("1p") / (96 / 72))  # pixels per point vs 96 dpi
        frame = tk.Frame(root, bg=COLOURS["panel"], highlightthickness=1, highlightbackground=COLOURS["border"])
        frame.pack(fill="both", expand=True)
        self._status = tk.Label(frame, bg=COLOURS["panel"], fg=COLOURS["idle"], anchor="w",
                                font=("TkDefaultFont", 10))
        self._status.pack(fill="x", padx=self._px(12), pady=(self._px(6), 0))
        self._text = tk.Label(frame, bg=COLOURS["panel"], fg=COLOURS["text"], anchor="w", justify="left",
                              font=("TkDefaultFont", 15))
        self._text.pack(fill="x", padx=self._px(12), pady=(0, self._px(8)))
        root.update_idletasks()
        self._native_setup_done = False
        self._visible = False

    def _px(self, points: float) -> int:
        return round(points * self._scale)

    def after(self, ms: int, callback: Any) -> None:
        self._root.after(ms, callback)

    def can_watch(self) -> bool:
        """Whether Tk can wake on a file descriptor here (not on Windows)."""
        return os.name == "posix" and hasattr(self._root.tk, "createfilehandler")

    def serve_wakes(self, callback: Any) -> int:
        """Listen on a loopback port (Tcl's own sockets, which its event loop watches on every platform); each
        read calls `callback` on this thread. Returns the port."""
        command = self._root.register(callback)
        return int(self._root.tk.eval(
            "proc overlay_wake_read {chan} {\n"
            "  read $chan\n"
            "  if {[eof $chan]} { close $chan; return }\n"
            f"  {command}\n"
            "}\n"
            "proc overlay_wake_accept {chan host port} {\n"
            "  fconfigure $chan -blocking 0 -translation binary\n"
            "  fileevent $chan readable [list overlay_wake_read $chan]\n"
            "}\n"
            "set overlay_wake_server [socket -server overlay_wake_accept -myaddr 127.0.0.1 0]\n"
            "lindex [fconfigure $overlay_wake_server -sockname] 2"))

    def watch(self, fd: int, callback: Any) -> None:
        import tkinter as tk

        self._root.tk.createfilehandler(fd, tk.READABLE, callback)

    def unwatch(self, fd: int) -> None:
        with contextlib.suppress(Exception):
            self._root.tk.deletefilehandler(fd)

    def mainloop(self) -> None:
        self._root.mainloop()

    def destroy(self) -> None:
        self._root.destroy()

    def release(self) -> None:
        """Forget the Tk objects (after destroy) so that they are freed on this thread."""
        self._root = self._status = self._text = None  # type: ignore[assignment]

    def show(self, view: OverlayView) -> None:
        root = self._root
        if not view.visible:
            if self._visible:
                root.withdraw()
                self._visible = False
            return
        self._status.configure(text=view.status, fg=COLOURS.get(view.tone, COLOURS["idle"]))
        self._text.configure(text=view.text)
        left, top, width, height = _monitor_of_focus(root)
        wrap = int(width * WIDTH_FRACTION)
        self._text.configure(wraplength=wrap)
        root.title(f"{OVERLAY_TITLE}: {view.status} | {view.text}")  # what tests (and screen readers) see
        with_alpha = view.alpha < 1.0
        root.attributes("-alpha", view.alpha if with_alpha else 1.0)
        root.update_idletasks()
        w = max(self._px(240), min(wrap + self._px(24), root.winfo_reqwidth()))
        h = root.winfo_reqheight()
        x = left + (width - w) // 2
        y = top + height - h - self._px(BOTTOM_MARGIN_PT)
        root.geometry(f"{w}x{h}+{x}+{y}")
        if not self._visible:
            if sys.platform == "win32":
                _win32_show_without_focus(root)
            else:
                root.deiconify()
                root.update_idletasks()
                _x11_click_through(root)
            self._visible = True
        root.lift()


def _monitor_of_focus(root: Any) -> tuple[int, int, int, int]:
    """Left, top, width, height of the work area of the monitor that holds the focused window."""
    if sys.platform == "win32":
        area = _win32_monitor_of_focus()
        if area is not None:
            return area
    else:
        area = _x11_monitor_of_focus()
        if area is not None:
            return area
    return 0, 0, root.winfo_screenwidth(), root.winfo_screenheight()


def _x11_monitor_of_focus() -> tuple[int, int, int, int] | None:
    try:
        from Xlib import display
    except ImportError:
        return None
    try:
        connection = display.Display()
    except Exception:
        return None
    try:
        root = connection.screen().root
        focus = connection.get_input_focus().focus
        centre = None
        if not isinstance(focus, int) and focus not in (0, 1):
            geometry = focus.get_geometry()
            origin = focus.translate_coords(root, 0, 0)
            centre = (-origin.x + geometry.width // 2, -origin.y + geometry.height // 2)
        monitors = []
        if connection.has_extension("RANDR"):
            monitors = [(m.x, m.y, m.width_in_pixels, m.height_in_pixels)
                        for m in connection.xrandr_get_monitors(root).monitors]
        for left, top, width, height in monitors:
            if centre is None or (left <= centre[0] < left + width and top <= centre[1] < top + height):
                return left, top, width, height
        return None
    except Exception as error:
        log.debug("overlay: no monitor for the focus (%s)", error)
        return None
    finally:
        connection.close()


def _x11_click_through(root: Any) -> None:
    """Give the window an empty input shape: pointer events go to the window below."""
    try:
        from Xlib import display
        from Xlib.ext import shape

        connection = display.Display()
    except Exception:
        return
    try:
        if not connection.has_extension("SHAPE"):
            return
        window = connection.create_resource_object("window", int(root.wm_frame(), 16) or root.winfo_id())
        window.shape_rectangles(shape.SO.Set, shape.SK.Input, 0, 0, 0, [])
        connection.sync()
    except Exception as error:
        log.debug("overlay: no click-through on X11 (%s)", error)
    finally:
        connection.close()


# ----- Windows -----
_GWL_EXSTYLE = -20
_WS_EX_TOPMOST = 0x00000008
_WS_EX_TRANSPARENT = 0x00000020
_WS_EX_TOOLWINDOW = 0x00000080
_WS_EX_LAYERED = 0x00080000
_WS_EX_NOACTIVATE = 0x08000000
_SW_SHOWNOACTIVATE = 4


def _win32_dpi_aware() -> None:
    import ctypes

    try:
        ctypes.windll.shcore.SetProcessDpiAwareness(2)  # type: ignore[attr-defined]  # per monitor
    except Exception:
        try:
            ctypes.windll.user32.SetProcessDPIAware()  # type: ignore[attr-defined]
        except Exception as error:
            log.debug("overlay: not DPI aware (%s)", error)


def _win32_show_without_focus(root: Any) -> None:
    import ctypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    root.update_idletasks()
    hwnd = user32.GetParent(root.winfo_id()) or root.winfo_id()
    style = user32.GetWindowLongW(hwnd, _GWL_EXSTYLE)
    user32.SetWindowLongW(hwnd, _GWL_EXSTYLE, style | _WS_EX_NOACTIVATE | _WS_EX_TRANSPARENT | _WS_EX_TOOLWINDOW
                          | _WS_EX_LAYERED | _WS_EX_TOPMOST)
    user32.ShowWindow(hwnd, _SW_SHOWNOACTIVATE)
    root.attributes("-topmost", True)


def _win32_monitor_of_focus() -> tuple[int, int, int, int] | None:
    import ctypes
    from ctypes import wintypes

    class MonitorInfo(ctypes.Structure):
        _fields_ = [("cbSize", wintypes.DWORD), ("rcMonitor", wintypes.RECT), ("rcWork", wintypes.RECT),
                    ("dwFlags", wintypes.DWORD)]

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    monitor = user32.MonitorFromWindow(user32.GetForegroundWindow(), 2)  # MONITOR_DEFAULTTONEAREST
    info = MonitorInfo()
    info.cbSize = ctypes.sizeof(MonitorInfo)
    if not monitor or not user32.GetMonitorInfoW(monitor, ctypes.byref(info)):
        return None
    work = info.rcWork
    return work.left, work.top, work.right - work.left, work.bottom - work.top


