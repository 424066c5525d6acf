"""The energy gate's floor is learned only from frames Silero scored as not speech (capture/noise_gate.py).

It used to take its floor from the first frames it heard: a microphone whose input began with the speech measured
its floor on that speech, nothing rose above it, and the utterance was held back unscored (under Wine, issue 22).
"""

from __future__ import annotations

import numpy as np

from tray_client.capture.noise_gate import LEARN_FRAMES, MARGIN_DB, MIN_LEVEL_DB, NoiseGate, level_db
from tray_client.capture.segmenter import FRAME_SAMPLES

THRESHOLD = 0.5
NOISE, SPEECH = 0.02, 0.95  # Silero's scores for a noise floor and for a voice


def frame_at(dbfs: float, seed: int = 0) -> np.ndarray:
    rms = 32768.0 * 10 ** (dbfs / 20)
    return np.random.default_rng(seed).normal(0.0, rms, FRAME_SAMPLES).round().astype(np.int16)


def hear(gate: NoiseGate, level: float, probability: float, in_utterance: bool = False) -> bool:
    """One frame as the pump handles it: asked about, then (when it was scored) learned from."""
    quiet = gate.quiet(level)
    if not quiet:
        gate.learn(level, probability, THRESHOLD, in_utterance)
    return quiet


def test_speech_from_the_very_first_frame_is_never_taken_for_the_floor():
    """A steady voice from the first frame (the Wine lane's mic): every frame of it is scored, none is quiet."""
    gate = NoiseGate()
    # Silero scores an onset's first frames low before it recognises the voice: they must not make a floor either.
    onset = [hear(gate, -20.0, 0.1) for _ in range(3)]
    voice = [hear(gate, -20.0, SPEECH, in_utterance=index > 2) for index in range(60)]
    assert not any(onset + voice)
    assert gate.floor_db is None


def test_no_floor_until_half_a_second_of_non_speech_in_a_row():
    gate = NoiseGate()
    for _ in range(LEARN_FRAMES - 1):
        assert not hear(gate, -50.0, NOISE)
    assert not hear(gate, -20.0, SPEECH)  # the run of noise frames starts again
    for _ in range(LEARN_FRAMES - 1):
        assert not hear(gate, -50.0, NOISE)
    assert gate.floor_db is None
    assert not hear(gate, -50.0, NOISE)
    assert gate.floor_db == -50.0
    assert hear(gate, -49.0, NOISE)


def test_frames_inside_an_utterance_never_teach_the_floor():
    """Pauses between words score low, but they belong to the utterance."""
    gate = NoiseGate()
    for _ in range(LEARN_FRAMES * 3):
        hear(gate, -30.0, NOISE, in_utterance=True)
    assert gate.floor_db is None


def test_a_soft_onset_after_a_quiet_room_rises_above_the_gate():
    gate = NoiseGate()
    for seed in range(LEARN_FRAMES):
        hear(gate, level_db(frame_at(-50.0, seed)), NOISE)
    assert gate.floor_db is not None and abs(gate.floor_db + 50.0) < 1.0
    assert all(hear(gate, level_db(frame_at(-50.0, seed)), NOISE) for seed in range(100, 200))  # the room: held
    soft = level_db(frame_at(-50.0 + MARGIN_DB + 2.0, 7))  # a soft voice 8 dB over the room
    assert not hear(gate, soft, 0.3)


def test_a_fan_switched_on_raises_the_floor_within_half_a_second():
    gate = NoiseGate()
    for _ in range(LEARN_FRAMES):
        hear(gate, -60.0, NOISE)
    fan = [hear(gate, -40.0, NOISE) for _ in range(LEARN_FRAMES * 2)]
    assert not any(fan[:LEARN_FRAMES]), "louder than the old floor: scored until it is known not to be speech"
    assert all(fan[LEARN_FRAMES:]), "then the fan is the floor and is held"
    assert gate.floor_db == -40.0
    assert not hear(gate, -30.0, SPEECH)  # a voice over the fan still rises above it


def test_a_quieter_room_lowers_the_floor_at_once():
    """Fan off: quieter than known noise is not speech; a soft voice in the now quiet room is not held."""
    gate = NoiseGate()
    for _ in range(LEARN_FRAMES):
        hear(gate, -40.0, NOISE)
    assert hear(gate, -60.0, NOISE)
    assert gate.floor_db == -60.0
    assert not hear(gate, -45.0, 0.6)


def test_digital_zero_is_a_floor_and_anything_over_it_is_scored():
    gate = NoiseGate()
    zero = level_db(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    assert zero == MIN_LEVEL_DB
    for _ in range(LEARN_FRAMES):
        hear(gate, zero, NOISE)
    assert gate.floor_db == MIN_LEVEL_DB
    assert all(hear(gate, zero, NOISE) for _ in range(100))
    assert not hear(gate, level_db(frame_at(-70.0)), NOISE)
