"""A 16-bit WAV file fed like a microphone, in blocks of BLOCK_FRAMES, in real time or as fast as it is taken."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from tray_client.capture.reblock import Reblocker, to_mono
from tray_client.capture.source_types import BLOCK_FRAMES, FRAME_S, WavFormatError


class WavSource:
    """A 16-bit WAV file fed like a microphone: in real time, or as fast as the pipeline takes it (`fast`)."""

    def __init__(self, path: str | Path, *, fast: bool = False) -> None:
        self.path = Path(path)
        self.fast = fast
        self.description = f"WAV file {self.path}"
        self.finite = True

    async def frames(self) -> AsyncIterator[np.ndarray]:
        async for block in self.blocks():
            for frame in block:
                yield frame

    async def blocks(self) -> AsyncIterator[list[np.ndarray]]:
        """The frames in blocks of BLOCK_FRAMES, each handed over when its last sample is due (as a mic does)."""
        try:
            with wave.open(str(self.path), "rb") as wav:
                if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
                    raise WavFormatError(f"{self.path}: only 16-bit PCM WAV is supported; convert it with "
                                         f"`sox IN -b 16 -e signed-integer OUT.wav`")
                rate, channels = wav.getframerate(), wav.getnchannels()
                raw = wav.readframes(wav.getnframes())
        except (OSError, wave.Error, EOFError) as error:
            raise WavFormatError(f"{self.path}: cannot read it as WAV ({error})") from error
        reblocker = Reblocker(rate)
        loop = asyncio.get_running_loop()
        started = loop.time()
        frames = [*reblocker.push(to_mono(raw, channels)), *reblocker.flush()]
        for first in range(0, len(frames), BLOCK_FRAMES):
            block = frames[first:first + BLOCK_FRAMES]
            if self.fast:
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(max(0.0, started + (first + len(block) - 1) * FRAME_S - loop.time()))
            yield block

