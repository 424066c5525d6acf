"""Capture scores audio a block at a time and leaves the noise floor unscored, without moving a single cut.

Listening to silence cost ~5 % of a core: one hand-off to the VAD thread and one Silero call per 32 ms frame.
Now a microphone callback brings BLOCK_FRAMES frames, scored in one hand-off; with `vad_energy_gate` on, a block
that is only the noise floor outside an utterance is not scored at all. These tests drive the real Capture (real Silero, segmenter,
gate) on recordings and compare it with the frame-by-frame reference the segmenter was built for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator

import numpy as np
import pytest

from tray_client._hub import Hub
from tray_client.capture.audio_source import BLOCK_FRAMES
from tray_client.capture.pump import Capture, segmenter_settings
from tray_client.capture.segmenter import (
    FRAME_SAMPLES,
    Segmenter,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)
from tray_client.capture.vad import SileroVad
from tray_client.config import ClientConfig


class BlockSource:
    """A finite recording delivered in blocks, as MicSource and WavSource deliver theirs."""

    description = "test recording"
    finite = True

    def __init__(self, samples: np.ndarray) -> None:
        usable = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        self._frames = list(samples[:usable].reshape(-1, FRAME_SAMPLES))

    async def blocks(self) -> AsyncIterator[list[np.ndarray]]:
        for first in range(0, len(self._frames), BLOCK_FRAMES):
            await asyncio.sleep(0)
            yield [frame.copy() for frame in self._frames[first:first + BLOCK_FRAMES]]

    async def frames(self) -> AsyncIterator[np.ndarray]:
        async for block in self.blocks():
            for frame in block:
                yield frame


class Utterances:
    """The link's side: each utterance's audio, keyed by id, in order."""

    def __init__(self) -> None:
        self.audio: dict[str, bytearray] = {}

    def open(self, utterance_id: str) -> None:
        self.audio[utterance_id] = bytearray()

    def append(self, utterance_id: str, pcm: bytes) -> None:
        self.audio[utterance_id] += pcm

    def close(self, utterance_id: str) -> None:
        pass

    def silence(self, utterance_id: str, silence_ms: int) -> None:
        pass


class CountingVad(SileroVad):
    """The real Silero, its hand-offs and scored frames counted."""

    handoffs = 0
    scored = 0

    def probabilities(self, frames: list[np.ndarray]) -> list[float]:
        CountingVad.handoffs += 1
        CountingVad.scored += len(frames)
        return super().probabilities(frames)


def run_capture(samples: np.ndarray, *, gate: bool = False) -> list[bytes]:
    """Every utterance Capture sends for `samples` (VAD mode, listening), as PCM."""
    CountingVad.handoffs = CountingVad.scored = 0
    real = SileroVad.load("onnx")
    vad = CountingVad(real._model, "onnx")
    sink = Utterances()
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="vad")
    counter = iter(range(1, 10_000))

    async def main() -> None:
        capture = Capture(ClientConfig(start_listening=True, vad_energy_gate=gate), source=BlockSource(samples), hub=Hub(), sink=sink,
                          vad_pool=pool, new_id=lambda: f"u{next(counter)}", on_change=lambda: None,
                          on_fail=lambda problem: None)
        capture.vad_loaded(vad)
        while not capture.input_ended:
            await asyncio.sleep(0.01)
        await capture.stop(1.0)

    try:
        asyncio.run(main())
    finally:
        pool.shutdown()
    return [bytes(pcm) for pcm in sink.audio.values()]


def frame_by_frame(samples: np.ndarray) -> list[bytes]:
    """The reference: every frame scored by Silero in order, its state reset after each utterance."""
    vad = SileroVad.load("onnx")
    counter = iter(range(1, 10_000))
    segmenter = Segmenter(segmenter_settings(ClientConfig(start_listening=True)), lambda: f"u{next(counter)}")
    segmenter.set_vad_enabled(True)
    audio: dict[str, bytearray] = {}
    events = []
    for frame in samples[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES):
        for event in segmenter.feed(frame.copy(), vad.probability(frame) if segmenter.needs_vad else None):
            events.append(event)
            if isinstance(event, UtteranceEnded):
                vad.reset()
    events += segmenter.finish("end_of_input")
    for event in events:
        if isinstance(event, UtteranceStarted):
            audio[event.utterance_id] = bytearray()
        elif isinstance(event, UtteranceAudio):
            audio[event.utterance_id] += event.pcm
    return [bytes(pcm) for pcm in audio.values()]


def noisy(samples: np.ndarray, dbfs: float, lead_s: float = 0.0) -> np.ndarray:
    lead = np.zeros(int(lead_s * 16_000), dtype=np.int16)
    joined = np.concatenate([lead, samples]).astype(np.float64)
    rms = 32768.0 * 10 ** (dbfs / 20)
    joined += np.random.default_rng(1).normal(0.0, rms, len(joined))
    return joined.round().clip(-32768, 32767).astype(np.int16)


@pytest.mark.parametrize("language", ["english", "mandarin"])
def test_blocks_cut_exactly_where_frame_by_frame_scoring_does(speech, language):
    """One hand-off per block, Silero's state reset mid-block after an utterance, never a frame scored twice:
    the same audio, sample for sample, with a noise floor under it (the default: no energy gate)."""
    samples = noisy(getattr(speech, language).samples, -50.0, lead_s=2.0)
    got = run_capture(samples)
    assert got == frame_by_frame(samples)
    assert len(got) == len(getattr(speech, language).phrases)
    frames = len(samples) // FRAME_SAMPLES
    assert CountingVad.handoffs <= frames / BLOCK_FRAMES + 2 * len(got) + 1  # + a re-score after each end


def test_with_the_energy_gate_a_noise_floor_is_not_scored_and_speech_after_it_loses_nothing(speech):
    """vad_energy_gate: 10 s of a -50 dBFS noise floor before the phrases: Silero scores almost none of it, and
    every phrase goes out whole (pre-roll included)."""
    sample = speech.english
    samples = noisy(sample.samples, -50.0, lead_s=10.0)
    got = run_capture(samples, gate=True)
    reference = frame_by_frame(samples)
    frames = len(samples) // FRAME_SAMPLES
    lead_frames = int(10.0 * 16_000) // FRAME_SAMPLES
    assert CountingVad.scored < frames - lead_frames * 0.9, "the noise floor should go unscored"
    assert len(got) == len(reference) == len(sample.phrases)
    lead = int(10.0 * 16_000)
    for index, (mine, theirs) in enumerate(zip(got, reference, strict=True)):
        phrase = sample.phrases[index]
        spoken = samples[lead + int(phrase.start_s * 16_000): lead + int(phrase.end_s * 16_000)].tobytes()
        assert spoken in mine, f"phrase {index} did not go out whole"
        # Where it starts and ends moves by at most a frame either way against scoring every frame.
        assert abs(len(mine) - len(theirs)) <= 2 * FRAME_SAMPLES * 2
