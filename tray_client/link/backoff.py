"""When to connect again after a connection attempt ended, and when to tell the user the server keeps failing.

Pure (no clock, no socket; the jitter's random source is injected), like the link core it serves.

Why it is built this way: a server that accepts the handshake and then closes every session (a crash right after
`hello`, a final too large to read, a reply the client cannot parse) used to be reconnected to 3-4 times a second
forever, replaying every pending utterance each time. So every kind of failure backs off, not only a refused
connection:
- a connection counts as *healthy* once it carried a final or stayed up `HEALTHY_AFTER_S`; only that starts the
  backoff over (a restarted server is found again within a fraction of a second);
- anything else is a failure in a row, counted by kind, and the delay doubles from `BACKOFF_INITIAL_S` with
  that kind's count: attempts that cannot reach the server are capped at `UNREACHABLE_MAX_S` (they are cheap, and
  the user waits for it to come back), sessions it accepted and then ended without a transcript at
  `DROPPED_MAX_S` (each costs the server a session and replays audio). Kept apart so that one session cut by a
  server restart does not slow down finding the restarted server, while a server that ends every session it
  accepts waits longer each time however it is reached in between;
- every delay is drawn from [1 - JITTER, 1] x the nominal one, so clients that one server restart dropped
  together do not all come back in the same instant;
- after `UNSTABLE_AFTER` dropped sessions in a row the link says so: "the server keeps closing the connection".
A refused token never heals by itself: no retry until the user changes it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

BACKOFF_INITIAL_S = 0.25
UNREACHABLE_MAX_S = 3.0  # a restarted server is found again within a few seconds
DROPPED_MAX_S = 30.0  # a server that drops every session is asked again twice a minute at most
JITTER = 0.5
HEALTHY_AFTER_S = 15.0
UNSTABLE_AFTER = 3


@dataclass(frozen=True)
class Ending:
    """How one connection attempt ended, as the driver saw it."""

    came_up: bool = False  # the WebSocket handshake succeeded
    answered: bool = False  # the server sent at least one final on it
    lasted_s: float = 0.0  # from the handshake to the end
    refused: bool = False  # the server refused the token: retrying cannot help
    asked: bool = False  # ended because a reconnect was asked for (new settings, the user, a late final)
    why: str = ""  # what ended it, in words for the user ("it closed the connection (code 1011)")


@dataclass(frozen=True)
class Retry:
    """What to do next: wait `delay_s` (None: until told), and what to show."""

    delay_s: float | None
    unreached: int = 0  # attempts in a row that did not get through the handshake
    dropped: int = 0  # sessions the server accepted and ended without a transcript since the last healthy one
    unstable: str = ""  # the state to show while the server keeps dropping sessions ("" when it does not)
    tell: bool = False  # the streak just became long enough to notify the user (once per streak)


class Backoff:
    """Consecutive failures and the next delay. `random` returns a float in [0, 1) (injected for tests)."""

    def __init__(self, random_source: Callable[[], float] = random.random) -> None:
        self._random = random_source
        self._unreached = 0
        self._dropped = 0

    def after(self, ending: Ending) -> Retry:
        """The retry for an attempt that ended as `ending`."""
        if ending.refused:
            return Retry(None, self._unreached, self._dropped)
        if ending.came_up and (ending.answered or ending.lasted_s >= HEALTHY_AFTER_S):
            # It worked, then dropped (a server restart, a network cut): the backoff is for failures in a row.
            self._unreached = self._dropped = 0
            return Retry(0.0 if ending.asked else self._jittered(BACKOFF_INITIAL_S))
        if ending.asked:
            # We ended it ourselves (new settings, a replay for a late final): not the server's failure.
            return Retry(0.0, self._unreached, self._dropped)
        if not ending.came_up:
            self._unreached += 1
            delay = self._jittered(min(UNREACHABLE_MAX_S, BACKOFF_INITIAL_S * 2 ** (self._unreached - 1)))
            return Retry(delay, self._unreached, self._dropped)
        self._unreached = 0
        self._dropped += 1
        delay = self._jittered(min(DROPPED_MAX_S, BACKOFF_INITIAL_S * 2 ** (self._dropped - 1)))
        unstable = ""
        if self._dropped >= UNSTABLE_AFTER:
            unstable = (f"the server keeps closing the connection: {ending.why or 'it ended the session'} "
                        f"({self._dropped} sessions in a row without a transcript); retrying in {delay:.1f} s")
        return Retry(delay, 0, self._dropped, unstable, tell=self._dropped == UNSTABLE_AFTER)

    def _jittered(self, nominal: float) -> float:
        return nominal * (1.0 - JITTER * self._random())
