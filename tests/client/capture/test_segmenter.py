"""Segmentation: pre-roll, start and end of speech, maximum length, manual recording; then real Silero on speech."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tray_client.capture.segmenter import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    VAD_TAIL_MS,
    FrameSizeError,
    Segmenter,
    SegmenterSettings,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)
from tray_client.capture.vad import SileroVad

BOUNDARY_TOLERANCE_S = 0.150


def make(settings: SegmenterSettings | None = None, vad: bool = True) -> Segmenter:
    counter = itertools.count(1)
    segmenter = Segmenter(settings or SegmenterSettings(), lambda: f"u{next(counter)}")
    segmenter.set_vad_enabled(vad)
    return segmenter


def frame(value: int) -> np.ndarray:
    return np.full(FRAME_SAMPLES, value, dtype=np.int16)


def run(segmenter: Segmenter, probabilities: list[float | None]) -> list:
    events = []
    for index, probability in enumerate(probabilities):
        events += segmenter.feed(frame(index), probability)
    return events


def audio_of(events, utterance_id: str) -> np.ndarray:
    pcm = b"".join(e.pcm for e in events if isinstance(e, UtteranceAudio) and e.utterance_id == utterance_id)
    return np.frombuffer(pcm, dtype=np.int16)


def test_utterance_starts_with_preroll_and_ends_after_min_silence():
    # 3 frames each: the silence counter starts VAD_TAIL_MS late (Silero's tail), so 96 + 64 ms is 3 frames.
    settings = SegmenterSettings(min_silence_ms=96 + VAD_TAIL_MS, preroll_ms=96)
    assert settings.silence_frames == 3 and settings.preroll_frames == 3
    events = run(make(settings), [0.0] * 5 + [0.9] * 4 + [0.1] * 3 + [0.0] * 2)
    starts = [e for e in events if isinstance(e, UtteranceStarted)]
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(starts) == len(ends) == 1
    assert starts[0].onset_sample == 5 * FRAME_SAMPLES and starts[0].preroll_samples == 3 * FRAME_SAMPLES
    assert ends[0].speech_end_sample == 9 * FRAME_SAMPLES and ends[0].reason == "silence"
    # Frames 2..4 (pre-roll) then 5..11: each frame's samples hold its index.
    assert list(audio_of(events, "u1")[::FRAME_SAMPLES]) == list(range(2, 12))


def test_hysteresis_keeps_an_utterance_open_through_a_dip():
    settings = SegmenterSettings(min_silence_ms=96, preroll_ms=0)
    events = run(make(settings), [0.9, 0.4, 0.4, 0.4, 0.4, 0.9, 0.1, 0.1, 0.1])
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(ends) == 1 and ends[0].speech_end_sample == 6 * FRAME_SAMPLES


def test_long_speech_is_cut_at_a_short_pause_past_the_soft_limit_then_hard():
    settings = SegmenterSettings(min_silence_ms=1000, preroll_ms=0, max_utterance_s=1.5)  # 46 frames hard
    # Speech with a 6-frame pause at frame 38 (past 80% = 36 frames), then speech without pauses.
    probabilities = [0.9] * 38 + [0.0] * 6 + [0.9] * 60
    events = run(make(settings), probabilities)
    starts = [e for e in events if isinstance(e, UtteranceStarted)]
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert ends[0].reason == "pause" and ends[0].end_sample == 43 * FRAME_SAMPLES  # after 160 ms of pause
    assert ends[1].reason == "max_length"
    assert ends[1].end_sample - starts[1].onset_sample == settings.hard_limit_frames * FRAME_SAMPLES


def test_manual_recording_needs_no_vad_and_continues_after_a_hard_cut():
    settings = SegmenterSettings(preroll_ms=64, max_utterance_s=0.5)  # 2 pre-roll frames, 15 frames hard
    segmenter = make(settings, vad=False)
    assert not segmenter.needs_vad
    events = run(segmenter, [None] * 4)
    events += segmenter.start_manual()
    assert not segmenter.needs_vad
    for index in range(4, 24):
        events += segmenter.feed(frame(index), None)
    events += segmenter.stop_manual()
    starts = [e for e in events if isinstance(e, UtteranceStarted)]
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert [s.reason for s in starts] == ["manual", "continued"]
    assert [e.reason for e in ends] == ["max_length", "manual"]
    first, second = audio_of(events, "u1"), audio_of(events, "u2")
    assert list(first[::FRAME_SAMPLES]) == list(range(2, 17))  # pre-roll 2,3 then 4..16: 15 frames
    assert list(second[::FRAME_SAMPLES]) == list(range(17, 24))  # nothing lost at the cut


def test_vad_utterance_becomes_manual_on_key_down_and_listen_off_closes_only_vad_ones():
    segmenter = make(SegmenterSettings(min_silence_ms=64, preroll_ms=0))
    run(segmenter, [0.9])
    assert segmenter.start_manual() == [] and segmenter.manual
    assert run(segmenter, [0.0] * 5) and segmenter.is_open  # silence does not end a manual utterance
    assert segmenter.set_vad_enabled(False) == [] and segmenter.is_open
    assert [e.reason for e in segmenter.stop_manual()] == ["manual"]
    vad_only = make(SegmenterSettings(preroll_ms=0))
    run(vad_only, [0.9])
    assert [e.reason for e in vad_only.set_vad_enabled(False)] == ["off"]


def test_frames_of_the_wrong_size_are_refused():
    with pytest.raises(FrameSizeError, match="512 int16"):
        make().feed(np.zeros(480, dtype=np.int16), 0.0)


@pytest.fixture(scope="module", params=["torch", "onnx"])
def silero(request):
    return SileroVad.load(request.param)


@pytest.mark.parametrize("language", ["english", "mandarin"])
def test_real_silero_finds_each_phrase_within_150_ms_with_preroll_before_onset(speech, silero, language):
    sample = getattr(speech, language)
    settings = SegmenterSettings()
    segmenter = make(settings)
    events = []
    silero.reset()
    resets_before = silero.resets
    for start in range(0, len(sample.samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        chunk = sample.samples[start : start + FRAME_SAMPLES]
        new = segmenter.feed(chunk, silero.probability(chunk) if segmenter.needs_vad else None)
        if any(isinstance(e, UtteranceEnded) for e in new):
            silero.reset()
        events += new
    events += segmenter.finish()
    starts = [e for e in events if isinstance(e, UtteranceStarted)]
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(starts) == len(ends) == len(sample.phrases)
    assert silero.resets - resets_before == len(sample.phrases)
    for phrase, start_event, end_event in zip(sample.phrases, starts, ends, strict=True):
        assert abs(start_event.onset_sample / SAMPLE_RATE - phrase.start_s) <= BOUNDARY_TOLERANCE_S
        assert abs(end_event.speech_end_sample / SAMPLE_RATE - phrase.end_s) <= BOUNDARY_TOLERANCE_S
        sent = audio_of(events, start_event.utterance_id)
        onset, preroll = start_event.onset_sample, start_event.preroll_samples
        assert preroll == settings.preroll_frames * FRAME_SAMPLES
        # The first samples sent are the pre-roll: exactly the audio just before the onset.
        assert np.array_equal(sent[:preroll], sample.samples[onset - preroll : onset])
        # Then every sample in order through the end of speech; of the end-of-speech silence only what came
        # before the speculative `silence` event (the rest is held and dropped: see test_speculative_silence.py).
        assert np.array_equal(sent, sample.samples[onset - preroll : onset - preroll + len(sent)])
        assert end_event.speech_end_sample <= onset - preroll + len(sent) <= end_event.end_sample


def test_reset_clears_silero_state(speech, silero):
    """After a reset the model scores a frame as if it had heard nothing before (state really cleared)."""
    phrase = speech.english.phrase_audio(0)
    probe = phrase[FRAME_SAMPLES * 10 : FRAME_SAMPLES * 11]
    silero.reset()
    fresh = silero.probability(probe)
    for start in range(0, FRAME_SAMPLES * 10, FRAME_SAMPLES):
        silero.probability(phrase[start : start + FRAME_SAMPLES])
    primed = silero.probability(probe)
    silero.reset()
    assert silero.probability(probe) == pytest.approx(fresh, abs=1e-6)
    assert primed != pytest.approx(fresh, abs=1e-6)
