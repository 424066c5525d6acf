"""One connection's share of the engine: a bounded number of steps sent, a bounded queue of its own behind them.

Without it, one client that sends `start` + audio in a loop (each `start` finalizes the open utterance, so each
one is a final decode) puts hundreds of steps in front of everybody else's final. With it, a connection has at
most `max_active` steps at the engine; its further steps wait here, finals first, and past `max_held` the
session refuses them with a clear error (a final) or skips them (a partial). Other connections never wait behind
more than `max_active` steps of any one connection. Pure: no I/O, no clock.

The session sees the quota as it would see the engine: `offer` gives a future at once, whether the step went to the
engine or waits here; cancelling it withdraws the step from either place; `promote` turns a step into its final
wherever it is (a held step here, a sent one by the engine's own rule).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future

import numpy as np

from asr_server.engine.base import DecodeRequest, Engine, StepOutput


class StepQuota:
    """Admits one session's decode steps to `engine` within its share."""

    def __init__(self, engine: Engine, max_active: int, max_held: int) -> None:
        self._engine = engine
        self._max_active = max(1, max_active)
        self._max_held = max(0, max_held)
        self._requests: dict[Future[StepOutput | None], DecodeRequest] = {}  # every step offered, not yet answered
        self._active: dict[Future[StepOutput | None], Future[StepOutput | None]] = {}  # ours -> the engine's
        self._held: deque[Future[StepOutput | None]] = deque()

    @property
    def active(self) -> int:
        """Steps sent to the engine and not answered yet."""
        return len(self._active)

    @property
    def held(self) -> int:
        """Steps waiting in this session's own queue."""
        return len(self._held)

    def request(self, future: Future[StepOutput | None]) -> DecodeRequest | None:
        """The step `future` answers for (as promoted), while it is not answered yet."""
        return self._requests.get(future)

    def offer(self, request: DecodeRequest) -> Future[StepOutput | None] | None:
        """Send `request` now or hold it; None when the session's queue is full (the caller answers the client).

        The future's first callback is this quota's own: by the time the caller's callbacks run, the step's slot
        has gone to the next held step (a final before any partial)."""
        future: Future[StepOutput | None] = Future()
        if len(self._active) >= self._max_active and len(self._held) >= self._max_held:
            return None
        self._requests[future] = request
        future.add_done_callback(self._settled)
        if len(self._active) < self._max_active:
            self._send(future)
        else:
            self._held.append(future)
        return future

    def promote(self, future: Future[StepOutput | None], audio: np.ndarray) -> bool:
        """The step behind `future` becomes the final decoding `audio` (`DecodeRequest.as_final`): in place while
        it is held here, by the engine's rule once sent. False: neither can change it any more."""
        request = self._requests.get(future)
        if request is None:
            return False
        final = request.as_final(audio)
        sent = self._active.get(future)
        if sent is not None and not self._engine.promote(sent, final):
            return False
        self._requests[future] = final
        return True

    def _send(self, future: Future[StepOutput | None]) -> None:
        sent = self._engine.submit(self._requests[future])
        self._active[future] = sent
        sent.add_done_callback(lambda answer: _pass_on(answer, future))

    def _settled(self, future: Future[StepOutput | None]) -> None:
        """Answered or withdrawn: the slot goes to the next held step; a withdrawn step's work is aborted."""
        self._requests.pop(future, None)
        sent = self._active.pop(future, None)
        if future.cancelled():
            if sent is not None:
                sent.cancel()
            self._held = deque(held for held in self._held if held is not future)
        while self._held and len(self._active) < self._max_active:
            # By identity: a step's == would compare its numpy audio (it raised).
            chosen = next((held for held in self._held if self._requests[held].urgent), self._held[0])
            self._held = deque(held for held in self._held if held is not chosen)
            self._send(chosen)


def _pass_on(answer: Future[StepOutput | None], future: Future[StepOutput | None]) -> None:
    """The engine's answer becomes the session's (unless the session withdrew the step meanwhile)."""
    if future.done() or answer.cancelled():
        return
    error = answer.exception()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer.result())
