"""The Silero VAD loading on a thread of its own, handed to the pipeline as a typed future.

Loading the VAD (numpy, `import onnxruntime`, the InferenceSession) takes a few hundred ms. The tray app used to
start it only once the pipeline, the controller and the features were built and the pipeline had started; now the
tray starts a `VadPreload` as soon as its icon is shown (ui/tray/app.py `_wire`), and the model loads beside the
imports of the pipeline, controller and features. The pipeline awaits the preload's future instead of loading the
model itself.

Not earlier: started at the very start of the process, beside the imports that lead to the icon, it made the icon
come 0.2-0.6 s later and the VAD no sooner (BENCHMARKS.md, issue 22). Both threads mostly run Python under one GIL,
and an import that waits on file reads loses the GIL to the other thread at every read (numpy's import took 2.7 s
instead of 0.17 s beside a busy thread). The preload thread imports only leaf modules (numpy, onnxruntime) and
`capture.vad`, which imports nothing that the other threads hold, so the two cannot deadlock on import locks.

A failure is not handled here: the future carries the exception as `SileroVad.load` raised it (a VadLoadError that
says what to install, a missing DLL named with its fix), and the pipeline surfaces it exactly as if it had loaded
the model itself (ERROR state, notice, log).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on the preload thread: numpy must not load on the thread that shows the icon
    from tray_client.capture.vad import SileroVad

__all__ = ["VadPreload"]

log = logging.getLogger(__name__)

SETTLE_S = 30.0
"""How long a shutdown waits for a load still under way (a daemon thread inside onnxruntime's native set-up while
the interpreter finalises could crash the exit of an app quit within its first second)."""


class VadPreload:
    """One load of the Silero VAD of runtime `kind` ("onnx" or "torch"), on a thread of its own."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.future: concurrent.futures.Future[SileroVad] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._load, name="vad-load", daemon=True)

    @classmethod
    def start(cls, kind: str) -> VadPreload:
        """Begin loading now and return at once."""
        preload = cls(kind)
        preload._thread.start()
        return preload

    def _load(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            # numpy and the model's runtime load here, off the thread that shows the icon
            from tray_client.capture import vad

            loaded = vad.SileroVad.load(self.kind)
        except BaseException as error:  # handed over whole: the pipeline reports it as its own load would
            self.future.set_exception(error)
        else:
            self.future.set_result(loaded)

    def settle(self, timeout: float = SETTLE_S) -> None:
        """Wait (bounded) for a load still under way, so that the process never exits in the middle of it."""
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the VAD was still loading %.0f s later; exiting anyway", timeout)
