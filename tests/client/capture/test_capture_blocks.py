"""Capture scores audio a block at a time and leaves the noise floor unscored, without moving a single cut.

Listening to silence cost ~5 % of a core: one hand-off to the VAD thread and one Silero call per 32 ms frame.
Now a microphone callback brings BLOCK_FRAMES frames, scored on the pipeline thread; with `vad_energy_gate` (the
default), blocks that are only the noise floor outside an utterance are held back and scored only if a louder block
follows within HOLD_FRAMES. The floor is learned only from frames Silero scored as not speech. These tests drive the real Capture (real Silero, segmenter,
gate) on recordings and compare it with the frame-by-frame reference the segmenter was built for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from tray_client._hub import Hub
from tray_client.capture.audio_source import BLOCK_FRAMES
from tray_client.capture.pump import HOLD_FRAMES, Capture, segmenter_settings
from tray_client.capture.segmenter import (
    FRAME_SAMPLES,
    Segmenter,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)
from tray_client.capture.vad import OnnxSilero, SileroVad
from tray_client.config import ClientConfig
from tray_client.events import Command


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


class SteadyVoiceModel(OnnxSilero):
    """The Windows lane's VAD stand-in (onnxruntime cannot run under Wine): a loud frame is speech."""

    def __init__(self) -> None:
        pass

    def probability(self, audio: np.ndarray) -> float:
        return 0.95 if float(np.sqrt(np.mean(np.square(audio * 32768.0)))) > 1000.0 else 0.02

    def reset_states(self) -> None:
        pass


def run_capture(samples: np.ndarray, *, gate: bool = False, model: object | None = None) -> list[bytes]:
    """Every utterance Capture sends for `samples` (VAD mode, listening), as PCM."""
    CountingVad.handoffs = CountingVad.scored = 0
    vad = CountingVad(model if model is not None else SileroVad.load("onnx")._model, "onnx")
    sink = Utterances()
    counter = iter(range(1, 10_000))

    async def main() -> None:
        capture = Capture(ClientConfig(start_listening=True, vad_energy_gate=gate), source=BlockSource(samples), hub=Hub(), sink=sink,
                          new_id=lambda: f"u{next(counter)}", on_change=lambda: None,
                          on_fail=lambda problem: None)
        capture.vad_loaded(vad)
        while not capture.input_ended:
            await asyncio.sleep(0.01)
        await capture.stop(1.0)

    asyncio.run(main())
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


def test_with_the_energy_gate_a_noise_floor_is_not_scored_and_the_cuts_stay_exact(speech):
    """vad_energy_gate: 30 s of a -50 dBFS noise floor before the phrases: Silero scores none of it but its first
    half second (until the floor is learned) and the last HOLD_FRAMES (held back, then scored before the onset), and
    the utterances are those of scoring every frame, sample for sample."""
    samples = noisy(speech.english.samples, -50.0, lead_s=30.0)
    got = run_capture(samples, gate=True)
    frames = len(samples) // FRAME_SAMPLES
    unscored = int(30.0 * 16_000) // FRAME_SAMPLES - HOLD_FRAMES
    assert CountingVad.scored < frames - unscored * 0.9, "the noise floor should go unscored"
    assert got == frame_by_frame(samples)
    assert len(got) == len(speech.english.phrases)


@pytest.mark.parametrize("gain", [0.05, 0.1])
def test_a_soft_onset_just_above_the_noise_floor_is_cut_where_scoring_every_frame_cuts_it(speech, gain):
    """Quiet speech over a -45 dBFS floor: its first frames are within the gate's margin of the floor. They are held
    back unscored, then scored before the first louder block, so the onset is found on the same frame as without
    the gate (the gate used to leave them unscored: the onset came a frame or more late, or not at all)."""
    quiet_speech = (speech.english.samples.astype(np.float64) * gain).round().astype(np.int16)
    samples = noisy(quiet_speech, -45.0, lead_s=3.0)
    assert run_capture(samples, gate=True) == frame_by_frame(samples)


def test_push_to_talk_gets_its_pre_roll_from_frames_the_gate_held_back():
    """A command (here push-to-talk in VAD mode) first feeds the held noise-floor frames to the segmenter, so the
    recording's pre-roll holds the audio from just before the key, not audio from seconds earlier."""
    rng = np.random.default_rng(3)
    floor = rng.normal(0.0, 32768 * 10 ** (-50 / 20), 16_000 * 3).round().astype(np.int16)
    frames = list(floor[: len(floor) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES))
    sink = Utterances()
    counter = iter(range(1, 100))

    async def main() -> None:
        capture = Capture(ClientConfig(start_listening=True, vad_energy_gate=True), source=BlockSource(floor),
                          hub=Hub(), sink=sink, new_id=lambda: f"u{next(counter)}", on_change=lambda: None,
                          on_fail=lambda problem: None)
        capture.vad_loaded(SileroVad.load("onnx"))
        for first in range(0, len(frames), BLOCK_FRAMES):  # the whole floor, a block at a time, as the pump does
            capture._process([frame.copy() for frame in frames[first:first + BLOCK_FRAMES]])
        capture.command(Command.PTT_DOWN)
        capture.command(Command.PTT_UP)
        await capture.stop(1.0)

    asyncio.run(main())
    (pcm,) = sink.audio.values()
    preroll = ClientConfig().preroll_ms * 16
    assert pcm == floor[len(frames) * FRAME_SAMPLES - preroll: len(frames) * FRAME_SAMPLES].tobytes()


def test_speech_from_the_very_first_frame_is_scored_and_sent_whole():
    """The Windows lane's sign-out journey: the mic's first audio is the phrase itself (a steady burst the lane's
    VAD calls speech), then digital zero. The gate used to measure its floor on the phrase, hold all of it back as
    noise floor, and after HOLD_FRAMES of silence feed it to the segmenter unscored: the utterance was lost."""
    rng = np.random.default_rng(5)
    burst = (rng.standard_normal(int(0.8 * 16_000)) * 5000).clip(-32000, 32000).astype(np.int16)
    samples = np.concatenate([burst, np.zeros(int((HOLD_FRAMES * FRAME_SAMPLES) * 1.3), dtype=np.int16)])
    (got,) = run_capture(samples, gate=True, model=SteadyVoiceModel())
    usable = len(burst) // FRAME_SAMPLES * FRAME_SAMPLES
    assert got[:usable * 2] == burst[:usable].tobytes()
    assert run_capture(samples, gate=False, model=SteadyVoiceModel()) == [got]


def test_real_speech_from_the_very_first_frame_cuts_as_scoring_every_frame(speech):
    samples = noisy(speech.english.samples[int(0.3 * 16_000):], -50.0)
    assert run_capture(samples, gate=True) == frame_by_frame(samples)


def test_after_digital_zero_the_phrases_cut_as_scoring_every_frame_and_the_zeros_go_unscored(speech):
    """A muted or virtual microphone: digital zero is its floor; the first phrase after 20 s of it is found whole."""
    lead = np.zeros(20 * 16_000, dtype=np.int16)
    samples = np.concatenate([lead, speech.english.samples])
    got = run_capture(samples, gate=True)
    assert CountingVad.scored < len(samples) // FRAME_SAMPLES - (len(lead) // FRAME_SAMPLES - HOLD_FRAMES) * 0.9
    assert got == frame_by_frame(samples)
    assert len(got) == len(speech.english.phrases)


def test_a_fan_switched_on_becomes_the_floor_and_speech_over_it_cuts_exactly(speech):
    """-60 dBFS room, then a fan at -40 dBFS for 12 s, then the phrases over the fan: the fan is scored only until
    the gate has learned it is not speech, and the cuts are those of scoring every frame."""
    rng = np.random.default_rng(11)
    room = rng.normal(0.0, 32768 * 10 ** (-60 / 20), 4 * 16_000)
    fan = rng.normal(0.0, 32768 * 10 ** (-40 / 20), 12 * 16_000 + len(speech.english.samples))
    fan[12 * 16_000:] += speech.english.samples
    samples = np.concatenate([room, fan]).round().clip(-32768, 32767).astype(np.int16)
    got = run_capture(samples, gate=True)
    fan_frames = 12 * 16_000 // FRAME_SAMPLES
    assert CountingVad.scored < len(samples) // FRAME_SAMPLES - (fan_frames - HOLD_FRAMES) * 0.8
    assert got == frame_by_frame(samples)
    assert len(got) == len(speech.english.phrases)


def test_turning_the_gate_off_in_the_settings_has_silero_score_every_frame_again():
    rng = np.random.default_rng(4)
    floor = rng.normal(0.0, 32768 * 10 ** (-50 / 20), 16_000 * 4).round().astype(np.int16)
    frames = list(floor[: len(floor) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES))
    vad = CountingVad(SileroVad.load("onnx")._model, "onnx")

    def scored_over_the_floor(capture: Capture) -> int:
        CountingVad.scored = 0
        for first in range(0, len(frames), BLOCK_FRAMES):
            capture._process([frame.copy() for frame in frames[first:first + BLOCK_FRAMES]])
        return CountingVad.scored

    async def main() -> tuple[int, int]:
        config = ClientConfig(start_listening=True, vad_energy_gate=True)
        capture = Capture(config, source=BlockSource(floor), hub=Hub(), sink=Utterances(), new_id=lambda: "u1",
                          on_change=lambda: None, on_fail=lambda problem: None)
        capture.vad_loaded(vad)
        gated = scored_over_the_floor(capture)
        capture.configure(ClientConfig(start_listening=True, vad_energy_gate=False))
        ungated = scored_over_the_floor(capture)
        await capture.stop(1.0)
        return gated, ungated

    gated, ungated = asyncio.run(main())
    assert gated < len(frames) / 2 and ungated == len(frames)
