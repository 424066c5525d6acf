"""Linux media players over MPRIS (D-Bus session bus), spoken with jeepney like the AT-SPI context reader.

A player is its well-known bus name (org.mpris.MediaPlayer2.vlc); it stays the same while the player runs, so a
note of it is still good after our own restart.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MprisPlayers"]

PREFIX = "org.mpris.MediaPlayer2."
PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
TIMEOUT_S = 2.0
"""A player that does not answer within this is left alone (one hung player must not hold up the others)."""


class MprisPlayers:
    """`pause.Players` for MPRIS; one connection, used by one thread."""

    def __init__(self) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self._connection: Any = open_dbus_connection(bus="SESSION")

    def _call(self, name: str, path: str, interface: str, method: str, signature: str = "",
              body: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        from jeepney import DBusAddress, MessageType, new_method_call

        message = new_method_call(DBusAddress(path, bus_name=name, interface=interface), method, signature, body)
        reply = self._connection.send_and_get_reply(message, timeout=TIMEOUT_S)
        if reply.header.message_type is MessageType.error:
            raise OSError(f"{name}: {reply.body[0] if reply.body else 'D-Bus error'}")
        return tuple(reply.body)

    def _names(self) -> list[str]:
        (names,) = self._call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames")
        return sorted(name for name in names if name.startswith(PREFIX))

    def token(self, player: str) -> str:
        return ""  # pausing changes nothing that needs remembering beyond the player's name

    def status(self, player: str, token: str = "") -> str:
        if player not in self._names():
            return ""
        (variant,) = self._call(player, PATH, "org.freedesktop.DBus.Properties", "Get", "ss",
                                (PLAYER, "PlaybackStatus"))
        return str(variant[1])

    def playing(self) -> list[str]:
        found = []
        for name in self._names():
            try:
                if self.status(name) == "Playing":
                    found.append(name)
            except Exception:  # a player that does not answer is not ours to pause
                continue
        return found

    def pause(self, player: str, token: str = "") -> None:
        self._call(player, PATH, PLAYER, "Pause")

    def play(self, player: str, token: str = "") -> None:
        self._call(player, PATH, PLAYER, "Play")

    def close(self) -> None:
        self._connection.close()
