"""The microphone wakes the pipeline once per 128 ms block while nobody speaks, and once per 64 ms callback inside
an utterance, so an end of speech is seen soon after it happens (a whole block added 76 ms p50 to each end)."""

from __future__ import annotations

import asyncio

import numpy as np

from dictation_devtools.reliability.fake_mic import TapeMic, installed
from tray_client.capture.mic_source import MicSource
from tray_client.capture.segmenter import FRAME_SAMPLES
from tray_client.capture.source_types import BLOCK_FRAMES, CALLBACK_FRAMES


def test_blocks_while_nobody_speaks_and_each_callback_at_once_inside_an_utterance():
    tape = np.random.default_rng(5).normal(0, 100, FRAME_SAMPLES * 200).round().astype(np.int16)
    mic = TapeMic(tape, speed=8.0)
    speaking = {"now": False}
    sizes: list[tuple[bool, int]] = []
    received = bytearray()

    async def main() -> None:
        source = MicSource(in_utterance=lambda: speaking["now"])
        async for block in source.blocks():
            sizes.append((speaking["now"], len(block)))
            received.extend(b"".join(frame.tobytes() for frame in block))
            if len(sizes) == 10:
                speaking["now"] = True  # an utterance opens: from the next callback on, each callback's frames
            if len(received) >= 120 * FRAME_SAMPLES * 2:
                return

    with installed(mic):
        asyncio.run(asyncio.wait_for(main(), 60))
    quiet = [size for speaking_then, size in sizes[:10]]
    inside = [size for speaking_then, size in sizes[12:]]  # a callback or two already gathered before the switch
    assert quiet == [BLOCK_FRAMES] * 10
    assert inside and set(inside) == {CALLBACK_FRAMES}
    assert bytes(received) == tape[: len(received) // 2].tobytes(), "every sample in order, none lost or doubled"
