"""Fixes to pystray 0.19's X11 (XEmbed) backend; everything here is a no-op for the win32 backend.

Why: pystray's X11 icon shares one python-xlib connection between its event loop (our main thread) and whoever
changes the icon (our controller thread): to run `_update_icon` / `_update_title` / `_stop` on the loop it sends a
ClientMessage *through that same connection* and flushes it from the caller's thread. python-xlib does not survive
two threads on one connection: seen here as a deadlock (the loop waiting for a get_geometry reply while the
controller flushed), as clicks never handled (the controller's flush read the ButtonPress into the queue while the
loop slept on the socket), and as a DestroyNotify that never ended the loop. So each thread gets its own
connection: the loop keeps pystray's, and a caller on another thread sends the same ClientMessage through a
connection it opens for itself. The loop receives it as any X event and runs the method as pystray intended.

Two smaller fixes: clicks are selected on the icon window (pystray handles ButtonPress but never asks for it,
pystray issue #151), and the icon is docked only when not docked yet (pystray docks again on every image change;
trayer then lays the icon out again and after a few changes leaves it 1 px wide).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["fix_backend", "is_x11", "title_for_backend", "wake_event_loop"]

log = logging.getLogger(__name__)

DISPATCHED = ("_show", "_hide", "_update_icon", "_update_title", "_stop")
"""pystray's methods that must run on its event loop (it rewrites exactly these in Icon.__init__)."""


def is_x11(icon: Any) -> bool:
    """Whether `icon` uses pystray's X11 backend."""
    return type(icon).__module__.endswith("_xorg")


def fix_backend(icon: Any) -> None:
    """Apply the fixes above; call on the main thread before `icon.run()`."""
    if not is_x11(icon):
        return
    from Xlib import X

    icon._window.change_attributes(event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask)
    icon._display.flush()
    dock = icon._assert_docked

    def assert_docked_once() -> None:
        if icon._systray_manager is None:
            dock()
        assert icon._systray_manager

    icon._assert_docked = assert_docked_once
    sender = _OwnConnectionSender(icon._window.id)
    icon._pystray_fix_sender = sender
    for name in DISPATCHED:
        setattr(icon, name, _dispatcher(icon, name, getattr(icon, name), sender))


def _dispatcher(icon: Any, name: str, on_loop_thread: Callable[[], None],
                sender: _OwnConnectionSender) -> Callable[[], None]:
    """Run pystray's `name` on its loop: directly when called there, else by a message from our own connection."""
    atom_name = f"_PYSTRAY_{name.upper()}"  # the atom pystray's loop maps back to the method

    def dispatch() -> None:
        loop_thread = getattr(icon, "_thread", None)  # set by pystray only once its loop runs
        if loop_thread is not None and threading.current_thread().ident == loop_thread.ident:
            on_loop_thread()  # pystray's own dispatcher runs the method directly on its loop thread
            return
        sender.send(atom_name)
        result = icon._queue.get()  # pystray's loop puts True, or the exception info, when the method ran
        if result is not True:
            raise result[1].with_traceback(result[2])

    return dispatch


class _OwnConnectionSender:
    """Sends ClientMessages to the icon window through one X connection per calling thread (never the loop's)."""

    def __init__(self, window_id: int) -> None:
        self._window_id = window_id
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []

    def send(self, atom_name: str) -> None:
        from Xlib import X
        from Xlib.display import Display
        from Xlib.protocol.event import ClientMessage

        display = getattr(self._local, "display", None)
        if display is None:
            display = self._local.display = Display()
            display.set_error_handler(lambda *_: None)  # a window already destroyed (late wake-up) is no error
            self._local.atoms = {}
            with self._lock:
                self._connections.append(display)
        atoms: dict[str, int] = self._local.atoms
        if atom_name not in atoms:
            atoms[atom_name] = display.intern_atom(atom_name)
        window = display.create_resource_object("window", self._window_id)
        message = ClientMessage(window=window, client_type=atoms[atom_name], data=(32, (X.CurrentTime, 0, 0, 0, 0)))
        # No event mask: the event goes to the client that created the window, i.e. pystray's loop.
        window.send_event(message, event_mask=X.NoEventMask)
        display.flush()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for display in connections:
            with contextlib.suppress(Exception):
                display.close()


def wake_event_loop(icon: Any, ended: threading.Event, patience_s: float = 0.2) -> None:
    """After stop(), wait for the loop to end; if it does not, send it a no-op message (from our own connection)
    so it reads its queue again. Then close the connections the senders opened."""
    if not is_x11(icon):
        return
    sender: _OwnConnectionSender | None = getattr(icon, "_pystray_fix_sender", None)
    for _ in range(5):
        if ended.wait(patience_s):
            break
        log.debug("the X11 tray loop did not end after stop(); waking it")
        if sender is not None:
            with contextlib.suppress(Exception):
                sender.send("_QWEN_DICTATION_WAKE")  # an atom no handler knows: read and ignored
    if sender is not None:
        sender.close()


def title_for_backend(icon: Any, text: str) -> str:
    """pystray's X11 backend stores the title as a Latin-1 WM_NAME and fails on anything else: transliterate."""
    if not is_x11(icon):
        return text
    text = text.replace("“", '"').replace("”", '"').replace("…", "...")
    return text.encode("latin-1", "replace").decode("latin-1")
