"""Linux: the focused text field's text and caret over AT-SPI, the D-Bus accessibility protocol that GTK, Qt,
Firefox, Chromium and LibreOffice speak. We talk D-Bus with jeepney (pure Python, a wheel) instead of pyatspi or
PyGObject, which a venv rarely has (they come from the distribution and need a compiler otherwise).

How: the session bus gives the accessibility bus's address (org.a11y.Bus.GetAddress); on it, the application
whose process is the focused window's is walked from its root, breadth first and at most `MAX_NODES` objects,
to the object in the FOCUSED state; its Text interface gives the characters and the caret. A password field
(role PASSWORD_TEXT) gives nothing. Every call has a timeout; any failure is "no reading" (the caller then uses
the window title).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from tray_client.desktop.app_context import AppText

log = logging.getLogger(__name__)

MAX_NODES = 400  # a browser's tree is thousands of objects; the focused one is near the top in practice
MAX_CHARS = 20_000  # read at most this much around the caret (the budget then trims it)
TIMEOUT_S = 0.3
_STATE_FOCUSED = 1 << 12
_STATE_SHOWING = 1 << 25
_ROLE_PASSWORD_TEXT = 40
_ACCESSIBLE = "org.a11y.atspi.Accessible"
_TEXT = "org.a11y.atspi.Text"


class _Bus:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def call(self, name: str, path: str, interface: str, method: str, signature: str | None = None,
             body: tuple = ()) -> tuple:
        from jeepney import DBusAddress, MessageType, new_method_call

        message = new_method_call(DBusAddress(path, bus_name=name, interface=interface), method, signature, body)
        reply = self.connection.send_and_get_reply(message, timeout=TIMEOUT_S)
        if reply.header.message_type == MessageType.error:
            raise OSError(f"{interface}.{method}: {reply.body}")
        return reply.body

    def prop(self, name: str, path: str, interface: str, prop: str) -> Any:
        body = self.call(name, path, "org.freedesktop.DBus.Properties", "Get", "ss", (interface, prop))
        return body[0][1]


def read_focused_text(pid: int | None) -> AppText | None:
    """The focused text field of the app with process `pid`, or None when AT-SPI cannot say."""
    try:
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return None
    try:
        with open_dbus_connection(bus="SESSION") as session:
            address = _Bus(session).call("org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus", "GetAddress")[0]
        with open_dbus_connection(bus=address) as connection:
            return _read(_Bus(connection), pid)
    except Exception as error:
        log.debug("AT-SPI gave no text: %s", error)
        return None


def _read(bus: _Bus, pid: int | None) -> AppText | None:
    apps = bus.call("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root", _ACCESSIBLE, "GetChildren")[0]
    for name, path in apps:
        if pid is not None and _pid(bus, name) != pid:
            continue
        found = _focused(bus, name, path)
        if found is not None:
            return _text(bus, *found)
    return None


def _pid(bus: _Bus, name: str) -> int | None:
    try:
        return int(bus.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                            "GetConnectionUnixProcessID", "s", (name,))[0])
    except OSError:
        return None


def _focused(bus: _Bus, name: str, root: str) -> tuple[str, str] | None:
    queue: deque[tuple[str, str]] = deque([(name, root)])
    seen = 0
    while queue and seen < MAX_NODES:
        node = queue.popleft()
        seen += 1
        states = bus.call(*node, _ACCESSIBLE, "GetState")[0]
        if states and states[0] & _STATE_FOCUSED:
            return node
        if node[1] != root and states and not states[0] & _STATE_SHOWING:
            continue  # hidden subtrees hold no focus
        queue.extend(tuple(child) for child in bus.call(*node, _ACCESSIBLE, "GetChildren")[0])
    return None


def _text(bus: _Bus, name: str, path: str) -> AppText | None:
    if bus.call(name, path, _ACCESSIBLE, "GetRole")[0] == _ROLE_PASSWORD_TEXT:
        return AppText(secret=True)
    try:
        count = int(bus.prop(name, path, _TEXT, "CharacterCount"))
        caret = int(bus.prop(name, path, _TEXT, "CaretOffset"))
    except OSError:
        return None  # focused, but not text (a button)
    start = max(0, min(caret, count) - MAX_CHARS // 2)
    end = min(count, start + MAX_CHARS)
    text = bus.call(name, path, _TEXT, "GetText", "ii", (start, end))[0]
    selection = ""
    try:
        if int(bus.call(name, path, _TEXT, "GetNSelections")[0]) > 0:
            first, last = bus.call(name, path, _TEXT, "GetSelection", "i", (0,))
            if 0 <= first < last:
                selection = bus.call(name, path, _TEXT, "GetText", "ii", (first, min(last, first + MAX_CHARS)))[0]
    except OSError:
        pass  # no selection interface: the text around the caret is enough
    return AppText(text=text, caret=caret - start, selection=selection)
