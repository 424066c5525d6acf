"""The fidelity benchmark's scoring rules (dictation_devtools.fidelity) on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from dictation_devtools.fidelity import FRAME_SAMPLES, NotFound, Region, locate, measure, oracle_regions


def test_oracle_regions_use_the_clients_hysteresis():
    regions = oracle_regions([0.0, 0.6, 0.4, 0.4, 0.2, 0.0, 0.9, 0.9])
    assert regions == [Region(FRAME_SAMPLES, 4 * FRAME_SAMPLES), Region(6 * FRAME_SAMPLES, 8 * FRAME_SAMPLES)]


def test_locate_finds_each_utterance_as_an_exact_slice_and_refuses_altered_audio():
    recording = np.random.default_rng(1).integers(-100, 100, 10_000).astype(np.int16)
    pieces = [recording[100:3000].tobytes(), recording[3000:7000].tobytes()]
    assert locate(recording, pieces) == [Region(100, 3000), Region(3000, 7000)]
    altered = bytearray(pieces[1])
    altered[-2:] = b"\x00\x7f"
    with pytest.raises(NotFound):
        locate(recording, [pieces[0], bytes(altered)])


def test_lost_speech_is_split_into_onsets_tails_and_the_rest_and_preroll_is_measured():
    core = [Region(1600, 3200), Region(8000, 9600), Region(14_000, 15_000)]
    sent = [Region(1000, 3000), Region(7000, 9600)]  # tail of the first cut, the third region never sent
    result = measure(core, sent, 16_000, pad_ms=0)
    assert result.lost_tail == 200 and result.lost_onset == 0 and result.lost_other == 1000
    assert result.preroll_ms == [600 * 1000 / 16_000, 1000 * 1000 / 16_000]
    assert result.onsets_cut == result.words_split == result.duplicated == 0

    cut = measure(core, [Region(1700, 3300), Region(3300, 8100), Region(8100, 9700)], 16_000, pad_ms=0)
    assert cut.onsets_cut == 1 and cut.lost_onset == 100  # began 100 samples into the first region
    assert cut.words_split == 1 and cut.gapless_onsets == 2  # the cut at 8100 fell inside the second region
    assert measure(core, [Region(1000, 3300), Region(3000, 4000)], 16_000).duplicated == 300
