"""A log line at most once per interval, with a count of what it stood for; and a per-second allowance.

One client sending bad messages as fast as it can wrote 146,000 INFO lines in 17 s; a flood of refused connections
would do the same. `ThrottledLog` keeps the first line of each interval and folds the rest into a count that the
next line reports, so the log still says what happened and how often, at a bounded rate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledLog:
    """`note(fmt, *args)` logs at most once per `interval` seconds; later lines say how many were folded in."""

    def __init__(self, logger: logging.Logger, level: int = logging.INFO, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._level = level
        self._interval = interval
        self._clock = clock
        self._last = float("-inf")
        self._folded = 0

    def note(self, fmt: str, *args: object) -> bool:
        """Log this line unless one was logged less than `interval` ago (then count it); True if logged."""
        now = self._clock()
        if now - self._last < self._interval:
            self._folded += 1
            return False
        if self._folded:
            fmt += f" (and {self._folded} more like it in the last {now - self._last:.0f} s)"
        self._folded = 0
        self._last = now
        self._logger.log(self._level, fmt, *args)
        return True

    @property
    def folded(self) -> int:
        """Lines counted but not logged since the last one logged."""
        return self._folded


class PerSecond:
    """At most `limit` events per one-second window: `allow()` says whether this one is within it."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._window = float("-inf")
        self._count = 0

    def allow(self) -> bool:
        """Count one event; False once `limit` were allowed in the current second."""
        now = self._clock()
        if now - self._window >= 1.0:
            self._window, self._count = now, 0
        self._count += 1
        return self._count <= self._limit

    def wait(self) -> float:
        """Seconds until the allowance is back, when it is used up now; 0 otherwise."""
        if self._count <= self._limit:
            return 0.0
        return max(0.0, self._window + 1.0 - self._clock())
