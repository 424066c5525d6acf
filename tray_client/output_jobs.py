"""Jobs from other threads onto the pipeline's output thread, queued behind the finals still being typed:
undo (the hotkey, the menu) and type again (Recent, Paste last). The output thread owns the sink, so these
never type in the middle of a final; each caller gets a future it may wait on or attach a callback to."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tray_client.sinks import OutputError, TextSink

if TYPE_CHECKING:
    from tray_client.delivery import Delivery
    from tray_client.port import VoiceUndo
    from tray_client.text.writer import Written

__all__ = ["OutputJobs"]

T = TypeVar("T")


class OutputJobs:
    """The way onto the output thread from any thread (see the module doc)."""

    def __init__(self, loop: Callable[[], asyncio.AbstractEventLoop | None], delivery: Delivery,
                 stopping: Callable[[], bool]) -> None:
        self._loop = loop  # the pipeline's loop, None before it starts
        self._delivery = delivery
        self._stopping = stopping

    def run(self, job: Callable[[TextSink], T]) -> concurrent.futures.Future[T]:
        """Run `job(sink)` on the output thread; the future fails with OutputError when there is no working
        output (not started, shut down, or no sink)."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            loop = self._loop()
            if loop is None:
                raise RuntimeError("not started")
            loop.call_soon_threadsafe(lambda: self._delivery.run_output(job, result, self._stopping()))
        except RuntimeError:  # not started, or shut down: the loop is closed
            result.set_exception(OutputError("the pipeline is not running"))
        return result

    def retype(self, text: str) -> concurrent.futures.Future[Written]:
        """Type `text` again where the user is now, spaced like the next dictation (the writer's Written)."""
        return self.run(lambda sink: self._delivery.text.retype(sink, text))

    def undo_last(self) -> concurrent.futures.Future[str]:
        """Undo the last final: "" or why not."""
        return self.run(self._delivery.text.undo)

    def use_undo(self, undo: VoiceUndo) -> None:
        """Make "scratch that" call `undo(sink)` instead of the text stage's own Backspace undo."""
        self._delivery.text.use_undo(undo)
