#!/usr/bin/env python3
"""What the microphone's block size costs at the end of speech: from the moment the frame that ends an utterance
(or marks its speculative silence) has been captured to the moment Capture tells the link.

A source that hands its audio over a block at a time (capture/source_types.BLOCK_FRAMES frames of 32 ms) shows a
frame only when the last sample of its block has arrived. This runs the real Capture (real Silero, segmenter,
energy gate, default settings) on espeak-ng phrases over a -50 dBFS floor in real time, and reports per utterance
the wait from "the deciding frame was captured" to the `silence` / `close` call on the link, p50 / p90 / max in
ms, for:
- "paced N": the recording handed over in blocks of N frames, each when its last sample is due (N = 4 is how
  MicSource delivered before it handed frames over one by one inside an utterance);
- "MicSource": the real MicSource on dictation_devtools' fake sound card (PortAudio-like callback thread, 32 ms
  buffers), the way the app reads a microphone now.

    PYTHONPATH=. python scripts/bench_block_latency.py [--blocks 4,1] [--phrases 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from bench_common import PHRASES, build_fixture, machine_line, percentile, print_table, scratch_dir

from tray_client._hub import Hub
from tray_client.capture.pump import Capture
from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE
from tray_client.capture.vad import SileroVad
from tray_client.config import ClientConfig

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE


class PacedMic:
    """A recording handed over in blocks of `block` frames, each when its last sample is due (as a mic does)."""

    description = "paced recording"
    finite = True

    def __init__(self, samples: np.ndarray, block: int) -> None:
        usable = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        self.frames = list(samples[:usable].reshape(-1, FRAME_SAMPLES))
        self.block = block
        self.started = 0.0

    async def blocks(self) -> AsyncIterator[list[np.ndarray]]:
        loop = asyncio.get_running_loop()
        self.started = loop.time()
        for first in range(0, len(self.frames), self.block):
            chunk = self.frames[first:first + self.block]
            await asyncio.sleep(max(0.0, self.started + (first + len(chunk)) * FRAME_S - loop.time()))
            yield [frame.copy() for frame in chunk]

    async def frames(self) -> AsyncIterator[np.ndarray]:  # the AudioSource protocol; blocks() is what is used
        async for block in self.blocks():
            for frame in block:
                yield frame


class TapeClock:
    """When each frame of a fake sound card's tape was captured: a callback's read at time t of the samples up to
    sample e means sample s was recorded at t - (e - s) / rate."""

    def __init__(self, samples: np.ndarray) -> None:
        from dictation_devtools.reliability.fake_mic import TapeMic

        self.mic = TapeMic(samples, name="Tape")
        self.reads: list[tuple[int, float]] = []  # (end sample, monotonic time)
        real_read = self.mic.read

        def read(position: int, count: int, rate: int) -> bytes | None:
            data = real_read(position, count, rate)
            self.reads.append((position + count, time.monotonic()))
            return data

        self.mic.read = read  # type: ignore[method-assign]

    def captured(self, frames: int) -> float:
        """When the first `frames` frames had all been recorded."""
        end = frames * FRAME_SAMPLES
        for read_end, at in self.reads:
            if read_end >= end:
                return at - (read_end - end) / SAMPLE_RATE
        return float("nan")


def measure(samples: np.ndarray, block: int, vad: SileroVad) -> dict[str, list[float]]:
    """Wait (ms) from the deciding frame's capture to the link call, for each silence mark and each close.
    block 0: the real MicSource on the fake sound card."""
    tape = TapeClock(samples) if block == 0 else None
    source = PacedMic(samples, block) if tape is None else None
    waits: dict[str, list[float]] = {"silence": [], "close": []}
    fed = [0]  # frames fed to the segmenter so far

    class Link:
        def open(self, utterance_id: str) -> None: ...
        def append(self, utterance_id: str, pcm: bytes) -> None: ...

        def _wait(self, kind: str) -> None:
            # the frame being fed ended here
            captured = tape.captured(fed[0]) if tape is not None else source.started + fed[0] * FRAME_S
            waits[kind].append((time.monotonic() - captured) * 1000)

        def close(self, utterance_id: str) -> None:
            self._wait("close")

        def silence(self, utterance_id: str, silence_ms: int) -> None:
            self._wait("silence")

    async def main() -> None:
        capture = Capture(ClientConfig(start_listening=True), source=source, hub=Hub(), sink=Link(),
                          new_id=lambda: "u", on_change=lambda: None, on_fail=lambda problem: None)
        feed = capture._segmenter.feed

        def counted(frame: np.ndarray, probability: float | None) -> list:
            fed[0] += 1
            return feed(frame, probability)

        capture._segmenter.feed = counted  # type: ignore[method-assign]
        capture.vad_loaded(vad)
        if tape is None:
            while not capture.input_ended:
                await asyncio.sleep(0.05)
        else:
            while tape.mic.position < len(samples):
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the last frames reach the segmenter
        await capture.stop(1.0)

    vad.reset()
    if tape is None:
        asyncio.run(main())
    else:
        from dictation_devtools.reliability.fake_mic import installed

        with installed(tape.mic):
            asyncio.run(main())
    return waits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", default="4,1,0", help="paced block sizes in frames; 0: the real MicSource on a "
                                                        "fake sound card (default 4,1,0)")
    parser.add_argument("--phrases", type=int, default=6)
    args = parser.parse_args(argv)
    print(f"# bench_block_latency: {machine_line()}")
    vad = SileroVad.load("onnx")
    with scratch_dir("bench_block_latency-") as scratch:
        fixture = build_fixture(Path(scratch), PHRASES[: args.phrases], lead_s=1.0, gap_s=1.5, tail_s=1.5,
                                noise_dbfs=-50.0)
    rows, figures = [], {}
    for block in (int(b) for b in args.blocks.split(",")):
        waits = measure(fixture.samples, block, vad)
        figures[block] = waits
        for kind, values in waits.items():
            rows.append([f"paced {block}" if block else "MicSource", f"{block * FRAME_S * 1000:.0f}" if block else "-", kind, len(values), f"{percentile(values, 50):.1f}",
                         f"{percentile(values, 90):.1f}", f"{max(values):.1f}" if values else "-"])
    print("\nFrom the deciding frame's capture to the link call (ms), real time")
    print_table(["source", "block ms", "event", "n", "p50", "p90", "max"], rows)
    print(json.dumps({"bench": "block_latency", "machine": machine_line(), "waits_ms": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
