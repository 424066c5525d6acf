"""Background tasks that cannot die quietly: a task that raises is logged, reported and started again.

A task that died silently once stopped final timeouts and replays for the rest of the day. Every long-lived task
of the client runs under `supervised`, which logs the traceback, tells its owner (who shows it in the state and
a notice), starts the task again after a pause, and tells the owner again once the new run has stayed up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

FaultCallback = Callable[[str, "BaseException | None"], None]  # task name, its error (None: running again)
RESTART_AFTER_S = 1.0  # a task that dies at once again does not spin the CPU
HEALTHY_AFTER_S = 2.0  # a restarted task that stays up this long counts as recovered


async def supervised(name: str, body: Callable[[], Awaitable[None]], on_fault: FaultCallback) -> None:
    """Run `body()` until it returns; each time it raises, log it, tell `on_fault` and run it again."""
    faulted = False
    while True:
        task = asyncio.ensure_future(body())
        try:
            if faulted:
                done, _ = await asyncio.wait({task}, timeout=HEALTHY_AFTER_S)
                if not done:
                    faulted = False
                    _tell(on_fault, name, None)
            await task
            return
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception as error:
            log.exception("%s died; starting it again in %g s", name, RESTART_AFTER_S)
            faulted = True
            _tell(on_fault, name, error)
            await asyncio.sleep(RESTART_AFTER_S)


def _tell(on_fault: FaultCallback, name: str, error: BaseException | None) -> None:
    try:
        on_fault(name, error)
    except Exception:
        log.exception("reporting the state of %s failed", name)
