"""The driver's half of the reconnect policy (asyncio): the "reconnect now" signal, what one connection attempt
did, and the sleep before the next. The policy itself, when and how long, is pure and lives next door
(backoff.py); this only feeds it an `Ending` and sleeps the `Retry` it gives, cut short by a reconnect request.
"""

from __future__ import annotations

import asyncio
import contextlib

from tray_client.link.backoff import Backoff, Ending, Retry

__all__ = ["Reconnects"]


class Reconnects:
    """One per link, on its loop: the attempt in progress and the backoff across attempts."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self._backoff = backoff or Backoff()
        self._asked = asyncio.Event()  # reconnect now: new settings, the user, a late final, closing
        self.came_up = False  # the current attempt got through the handshake
        self.up_since = 0.0  # loop time of its handshake
        self.ended = ""  # what ended the current connection, in words (a close code and reason)

    def request(self) -> None:
        """Drop the current connection (if any) and connect again without waiting."""
        self._asked.set()

    async def requested(self) -> None:
        """Return once a reconnect is asked for (a connection's tasks wait on it)."""
        await self._asked.wait()

    def begin(self) -> None:
        """A new attempt starts."""
        self.came_up, self.ended = False, ""

    def up(self, now: float) -> None:
        """The handshake succeeded at loop time `now`."""
        self.came_up, self.up_since = True, now

    def ending(self, *, now: float, answered: bool, refused: bool, closing: bool) -> Ending:
        """How the attempt ended, for the backoff (and for the core: whether the server dropped it)."""
        return Ending(came_up=self.came_up, answered=answered,
                      lasted_s=now - self.up_since if self.came_up else 0.0, refused=refused,
                      asked=closing or self._asked.is_set(), why=self.ended or "it closed the connection")

    def after(self, ending: Ending) -> Retry:
        return self._backoff.after(ending)

    async def sleep(self, retry: Retry) -> None:
        """Wait the retry's delay (None: until asked), or less if a reconnect is asked for meanwhile."""
        self._asked.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._asked.wait(), retry.delay_s)
        self._asked.clear()
