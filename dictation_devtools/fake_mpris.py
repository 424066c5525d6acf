"""A media player that speaks MPRIS on the session bus, for the media-pause tests: a real D-Bus service (jeepney),
so the client's own D-Bus code is what is tested, not a mock of it.

Run as `python -m dictation_devtools.fake_mpris NAME STATUS CALLS_FILE`: it owns `org.mpris.MediaPlayer2.NAME` on
the bus in DBUS_SESSION_BUS_ADDRESS, starts in STATUS ("Playing", "Paused" or "Stopped"), answers the
`PlaybackStatus` property and the Play / Pause / PlayPause / Stop methods, appends each method it is asked to
CALLS_FILE (one a line) and prints "ready" once its name is on the bus.
"""

from __future__ import annotations

import sys
from pathlib import Path

MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
_NEXT = {"Play": "Playing", "Pause": "Paused", "Stop": "Stopped"}


def serve(name: str, status: str, calls: Path) -> None:
    from jeepney import HeaderFields, MessageType, new_error, new_method_return
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    connection = open_dbus_connection(bus="SESSION")
    connection.send_and_get_reply(message_bus.RequestName(f"org.mpris.MediaPlayer2.{name}"))
    print("ready", flush=True)
    while True:
        message = connection.receive()
        if message.header.message_type is not MessageType.method_call:
            continue
        fields = message.header.fields
        member, interface = fields.get(HeaderFields.member), fields.get(HeaderFields.interface)
        if interface == PROPERTIES and member == "Get" and message.body[1] == "PlaybackStatus":
            connection.send(new_method_return(message, "v", (("s", status),)))
        elif interface == PROPERTIES and member == "GetAll":
            connection.send(new_method_return(message, "a{sv}", ({"PlaybackStatus": ("s", status)},)))
        elif interface == PLAYER and member in (*_NEXT, "PlayPause"):
            with calls.open("a", encoding="utf-8") as file:
                file.write(f"{member}\n")
            if member == "PlayPause":
                status = "Paused" if status == "Playing" else "Playing"
            else:
                status = _NEXT[member]
            connection.send(new_method_return(message))
        else:
            connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s",
                                      (f"no {interface}.{member} here",)))


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
