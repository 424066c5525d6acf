"""One connection's share of the engine: a bounded number of steps sent, a bounded queue of its own behind them.

Without it, one client that sends `start` + audio in a loop (each `start` finalizes the open utterance, so each
one is a final decode) puts hundreds of steps in front of everybody else's final. With it, a connection has at
most `max_active` steps at the engine; its further steps wait here, finals first, and past `max_held` the
session refuses them with a clear error (a final) or skips them (a partial). Other connections never wait behind
more than `max_active` steps of any one connection. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from asr_server.scheduler import DecodeJob


class StepQuota:
    """Admits one session's decode steps to `submit` within its share; call `done` when a step's result is in."""

    def __init__(self, submit: Callable[[DecodeJob], None], max_active: int, max_held: int) -> None:
        self._submit = submit
        self._max_active = max(1, max_active)
        self._max_held = max(0, max_held)
        self._active: set[int] = set()
        self._held: deque[DecodeJob] = deque()

    @property
    def active(self) -> int:
        """Steps sent to the engine and not answered yet."""
        return len(self._active)

    @property
    def held(self) -> int:
        """Steps waiting in this session's own queue."""
        return len(self._held)

    def offer(self, job: DecodeJob) -> bool:
        """Send `job` now or hold it; False when the session's queue is full (the caller answers the client)."""
        if len(self._active) < self._max_active:
            self._send(job)
            return True
        if len(self._held) < self._max_held:
            self._held.append(job)
            return True
        return False

    def done(self, job: DecodeJob) -> None:
        """`job`'s result arrived: its slot goes to the next held step (a final before any partial)."""
        self._active.discard(id(job))
        self._release()

    def promote(self, job: DecodeJob, audio: np.ndarray) -> bool:
        """A held step becomes the final decoding `audio` (True), like InferenceWorker.promote for queued jobs."""
        if not any(held is job for held in self._held):
            return False
        job.audio = audio
        job.urgent = True
        return True

    def withdraw(self, job: DecodeJob) -> bool:
        """Forget `job` (its utterance was cancelled or the connection closed); True if it had been sent."""
        was_active = id(job) in self._active
        self._active.discard(id(job))
        self._held = deque(held for held in self._held if held is not job)
        if was_active:
            self._release()
        return was_active

    def _send(self, job: DecodeJob) -> None:
        self._active.add(id(job))
        self._submit(job)

    def _release(self) -> None:
        while self._held and len(self._active) < self._max_active:
            job = next((held for held in self._held if held.urgent), self._held[0])
            # By identity: deque.remove compares with ==, and a job's == compares its numpy audio (it raised).
            self._held = deque(held for held in self._held if held is not job)
            if not job.cancelled():
                self._send(job)
