"""Speech fidelity through the whole pipeline: phrases with pauses just over min silence, real Silero, a server
that records exactly the PCM it gets. Real time and --fast must cut the same, and every utterance must begin at
its full pre-roll or exactly where the previous one's sent audio ended (with the speculative end on, the frames
held after its silence event open the next utterance)."""

from __future__ import annotations

import numpy as np
import pytest

from dictation_devtools.fidelity import Region, locate
from dictation_devtools.recording_server import RecordingServer
from dictation_devtools.speech import SAMPLE_RATE, build_paused_recording
from tests.client.conftest import RecordingSink
from tests.client.test_pipeline import Events
from tray_client.config import ClientConfig
from tray_client.events import SpeechSegment
from tray_client.pipeline import Pipeline

pytestmark = pytest.mark.slow

PHRASES = ["please send the report", "she sells sea shells", "thank you for waiting", "call me at seven"]
PAUSES_MS = [460, 520, 480]  # each just over the default min silence (400 ms): ordinary fast speech
PREROLL_MS = 480


@pytest.fixture(scope="module")
def short_pauses(tmp_path_factory: pytest.TempPathFactory):
    return build_paused_recording(PHRASES, PAUSES_MS, "en-us", tmp_path_factory.mktemp("short-pauses"))


def cut(path, samples: np.ndarray, fast: bool, sink) -> tuple[list[Region], list[SpeechSegment], list[str]]:
    with RecordingServer() as server:
        config = ClientConfig(server=server.url, input_wav=str(path), fast=fast, no_tray=True)
        pipeline = Pipeline(config, sink=sink)
        events = Events(pipeline)
        pipeline.start()
        assert pipeline.wait_done(120), "the file should end and every utterance get its final"
        pipeline.shutdown()
        utterances = server.stopped()
    assert all(item.silences for item in utterances), "the speculative end was on"
    return locate(samples, [bytes(item.pcm) for item in utterances]), events.of(SpeechSegment), list(sink.emitted)


def test_real_time_and_fast_cut_the_same_and_no_onset_loses_audio_the_last_utterance_held_back(short_pauses):
    path, samples = short_pauses
    fast_cuts, segments, typed = cut(path, samples, True, RecordingSink())
    assert len(fast_cuts) == len(PHRASES), "one utterance per phrase"
    assert typed == ["w1", *(f" w{n}" for n in range(2, len(PHRASES) + 1))], "each final typed once"
    for previous, current, segment in zip(fast_cuts, fast_cuts[1:], segments[1:], strict=False):
        onset = round(segment.onset_s * SAMPLE_RATE)
        expected = max(previous.end, onset - PREROLL_MS * SAMPLE_RATE // 1000)
        assert current.start == expected, (
            f"utterance at {onset / SAMPLE_RATE:.2f} s began at {current.start / SAMPLE_RATE:.3f} s: expected its "
            f"full pre-roll or everything since the last sent sample ({expected / SAMPLE_RATE:.3f} s)")
    real_time_cuts, _, _ = cut(path, samples, False, RecordingSink())
    assert real_time_cuts == fast_cuts
