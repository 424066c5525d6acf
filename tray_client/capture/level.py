"""A live input level for the settings window's meter: the real MicSource, read on a thread of its own.

It opens the microphone the way the pipeline does (MicSource: same device choice, resampling, PortAudio lock),
so what the meter shows is what dictation will hear. Thread: "mic-level", an asyncio loop that reads frames
and keeps the newest level; `read()` from any thread; `close()` stops it and waits (bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading

import numpy as np

from tray_client.capture.audio_source import MicSource

__all__ = ["FLOOR_DBFS", "MicLevel", "level_of"]

FLOOR_DBFS = -60.0
"""The meter's empty end: quieter than a quiet room through a typical mic."""
CLOSE_TIMEOUT_S = 2.0


def level_of(frame: np.ndarray) -> float:
    """0..1 from int16 samples: RMS in dBFS mapped linearly from FLOOR_DBFS (0) to 0 dBFS (1)."""
    if frame.size == 0:
        return 0.0
    rms = math.sqrt(float(np.mean(np.square(frame.astype(np.float64))))) / 32768.0
    if rms <= 0.0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - 20.0 * math.log10(rms) / FLOOR_DBFS))


class MicLevel:
    """Start reading `device` at once; `read()` the newest level; `error` says why it stopped, if it did."""

    def __init__(self, device: str | int | None) -> None:
        self.error = ""
        self._level = 0.0
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(device,), name="mic-level", daemon=True)
        self._thread.start()
        self._started.wait(CLOSE_TIMEOUT_S)

    def read(self) -> float:
        return self._level

    def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended already
                self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(CLOSE_TIMEOUT_S)

    def _main(self, device: str | int | None) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._read(device))
        self._started.set()
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()

    async def _read(self, device: str | int | None) -> None:
        try:
            async for frame in MicSource(device).frames():
                self._level = level_of(frame)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a missing or busy mic: the window says so
            self.error = str(error)
            self._level = 0.0
