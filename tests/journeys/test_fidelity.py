"""A user dictates a recording of fast speech (pauses just over min silence) with the headless client and its
defaults, speculative end included, in English and in Mandarin (aspirated and fricative onsets: 七, 吃, 是, 他).
They see one final per phrase, each once; and the server got every word's onset: no speech lost before any
utterance, nothing sent twice."""

from __future__ import annotations

import pytest

from dictation_devtools.speech import build_paused_recording
from tests.journeys._fidelity_support import dictate_file

pytestmark = [pytest.mark.journey, pytest.mark.slow]

PAUSES_MS = [430, 450, 440]  # just over the default min silence (400 ms)
RECORDINGS = {
    "english": (["please send the report", "she sells sea shells", "thank you for waiting", "call me at seven"],
                "en-us"),
    "mandarin": (["七点钟开会", "吃饭了吗", "是这样的", "他明天来"], "cmn"),
}


@pytest.mark.parametrize("language", sorted(RECORDINGS))
def test_fast_speech_reaches_the_server_whole_and_each_phrase_is_typed_once(language, tmp_path):
    phrases, voice = RECORDINGS[language]
    path, samples = build_paused_recording(phrases, PAUSES_MS, voice, tmp_path)
    dictated = dictate_file(path, samples, "--fast")
    assert dictated.utterances == len(phrases), "one utterance per phrase"
    assert dictated.printed == [f"w{n}" for n in range(1, len(phrases) + 1)], "each final printed once, in order"
    fidelity = dictated.fidelity
    assert fidelity.lost_onset == 0 and fidelity.onsets_cut == 0, f"an onset lost audio: {fidelity}"
    assert fidelity.duplicated == 0 and fidelity.words_split == 0
    assert fidelity.lost_percent <= 0.3, fidelity
