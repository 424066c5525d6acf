"""The client half of the speculative final: the segmenter notices silence inside an utterance, holds the audio
after it, and the link sends protocol v1's `silence` event right after the audio it follows."""

from __future__ import annotations

import itertools
import json

import numpy as np

from dictation_core import protocol
from tray_client.capture.segmenter import (
    FRAME_MS,
    FRAME_SAMPLES,
    VAD_TAIL_MS,
    Segmenter,
    SegmenterSettings,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceSilence,
)
from tray_client.link.core import LinkCore, LinkSettings

SETTINGS = SegmenterSettings(min_silence_ms=400, speculative_silence_ms=150, preroll_ms=0)


def feed(segmenter: Segmenter, probabilities: list[float]) -> list:
    events = []
    for index, probability in enumerate(probabilities):
        events += segmenter.feed(np.full(FRAME_SAMPLES, index, dtype=np.int16), probability)
    return events


def make(settings: SegmenterSettings = SETTINGS) -> Segmenter:
    counter = itertools.count(1)
    segmenter = Segmenter(settings, lambda: f"u{next(counter)}")
    segmenter.set_vad_enabled(True)
    return segmenter


def kinds(events: list) -> list[str]:
    return [type(event).__name__.removeprefix("Utterance") for event in events]


def test_silence_is_announced_once_at_its_length_and_the_silence_after_it_is_not_sent():
    speech, silent = [0.9] * 10, [0.0] * 20
    events = feed(make(), speech + silent)
    spec = SETTINGS.speculative_frames
    assert spec == 3 and SETTINGS.silence_frames == 11
    (announced,) = [e for e in events if isinstance(e, UtteranceSilence)]
    assert announced.silence_ms == round(spec * FRAME_MS + VAD_TAIL_MS) >= 150
    audio = [e for e in events if isinstance(e, UtteranceAudio)]
    # Speech frames and the silent frames up to the announcement are sent; the held ones after it are not.
    assert len(audio) == 10 + spec
    assert kinds(events)[-2:] == ["Silence", "Ended"]
    assert isinstance(events[-1], UtteranceEnded) and events[-1].reason == "silence"


def test_when_speech_resumes_the_held_audio_goes_out_first_in_order_and_nothing_is_lost():
    probabilities = [0.9] * 5 + [0.0] * 6 + [0.9] * 3 + [0.0] * 20
    events = feed(make(), probabilities)
    audio = [e for e in events if isinstance(e, UtteranceAudio)]
    first_end = 5 + 6 + 3 + SETTINGS.speculative_frames
    values = [int(np.frombuffer(e.pcm, dtype=np.int16)[0]) for e in audio]
    assert values == list(range(first_end)), "every frame up to the last announcement, in order"
    assert kinds(events).count("Silence") == 2


def test_off_when_zero_or_not_shorter_than_the_end_of_speech_silence():
    for settings in (SegmenterSettings(speculative_silence_ms=0), SegmenterSettings(speculative_silence_ms=400)):
        events = feed(make(settings), [0.9] * 10 + [0.0] * 20)
        assert "Silence" not in kinds(events)
        assert len([e for e in events if isinstance(e, UtteranceAudio)]) >= 10 + settings.silence_frames


def test_a_key_press_or_max_length_sends_the_held_audio_before_the_end():
    segmenter = make()
    events = feed(segmenter, [0.9] * 5 + [0.0] * 5)
    events += segmenter.start_manual()  # push-to-talk pressed during the silence: the recording goes on
    events += segmenter.stop_manual()
    assert len([e for e in events if isinstance(e, UtteranceAudio)]) == 10


def test_the_link_sends_silence_right_after_the_audio_it_follows_and_drops_it_when_more_audio_came():
    link = LinkCore(LinkSettings(url="ws://test"))
    link.connection_made()
    link.receive_text(protocol.ready("m", "b"))
    link.open("u")
    link.append("u", b"\x01\x00" * 10)
    link.silence("u", 160)
    sent = link.data_to_send(0.0)
    assert [json.loads(f)["event"] if isinstance(f, str) else "audio" for f in sent] == \
        ["hello", "start", "audio", "silence"]
    assert json.loads(sent[-1]) == {"event": "silence", "ms": 160}

    link.silence("u", 160)
    link.append("u", b"\x02\x00" * 10)  # speech resumed before the frames went out: the event is stale
    link.close("u")
    later = link.data_to_send(0.0)
    assert [json.loads(f)["event"] if isinstance(f, str) else "audio" for f in later] == ["audio", "stop"]


def test_no_silence_event_goes_to_a_server_that_did_not_say_it_takes_one():
    """An original-protocol server sends no ready, and a v1 server from before the event says nothing of it:
    either would answer the unknown event with an error (or worse), so the link keeps it to itself."""
    for ready in (None, '{"type":"ready","protocol":1,"model":"m","backend":"b"}'):
        link = LinkCore(LinkSettings(url="ws://test"))
        link.connection_made()
        if ready is not None:
            link.receive_text(ready)
        link.open("u")
        link.append("u", b"\x01\x00" * 10)
        link.silence("u", 160)
        link.close("u")
        sent = link.data_to_send(0.0)
        assert [json.loads(f)["event"] if isinstance(f, str) else "audio" for f in sent] == \
            ["hello", "start", "audio", "stop"]


def sent_frames(events: list) -> dict[str, list[int]]:
    """Per utterance id, the index of every frame sent (each frame's samples hold its index)."""
    sent: dict[str, list[int]] = {}
    for event in events:
        if isinstance(event, UtteranceAudio):
            values = np.frombuffer(event.pcm, dtype=np.int16)[::FRAME_SAMPLES]
            sent.setdefault(event.utterance_id, []).extend(int(v) for v in values)
    return sent


def test_after_a_pause_just_over_min_silence_the_next_utterance_carries_the_frames_the_last_one_held_back():
    """Fast speech: the next word starts 2 frames after the end. The frames held after the silence event were
    never sent, so they open the next utterance's pre-roll, and together the two utterances sent every frame
    once: nothing of the next word's soft onset is lost, and no sample reaches the server twice."""
    settings = SegmenterSettings(min_silence_ms=400, speculative_silence_ms=150, preroll_ms=480)
    spec, end = settings.speculative_frames, settings.silence_frames
    speech = [0.9] * 10
    events = feed(make(settings), speech + [0.0] * (end + 2) + speech + [0.0] * 20)
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert [e.reason for e in ends] == ["silence", "silence"]
    sent = sent_frames(events)
    first, second = sent["u1"], sent["u2"]
    assert first == list(range(10 + spec)), "the first utterance stops at its silence event"
    held_and_after = list(range(10 + spec, 10 + end + 2))  # held, never sent, then the 2 frames since its end
    assert second[:len(held_and_after)] == held_and_after, "the next pre-roll begins where the last sent audio ended"
    assert not set(first) & set(second), "no frame is sent twice"
    started = [e for e in events if type(e).__name__ == "UtteranceStarted"]
    assert started[1].preroll_samples == len(held_and_after) * FRAME_SAMPLES


def test_the_pre_roll_still_keeps_only_its_length_of_the_held_audio():
    settings = SegmenterSettings(min_silence_ms=400, speculative_silence_ms=150, preroll_ms=96)
    events = feed(make(settings), [0.9] * 10 + [0.0] * settings.silence_frames + [0.9] * 5 + [0.0] * 20)
    sent = sent_frames(events)
    onset = 10 + settings.silence_frames
    assert sent["u2"][:4] == [onset - 3, onset - 2, onset - 1, onset]


def test_a_trailing_weak_frame_in_the_held_audio_is_sent_not_dropped():
    """A frame in the hysteresis band after the silence event (a final consonant, a breath) is sent with the
    held frames before it, the server is told of the silence again, and the utterance still ends on time."""
    spec, end = SETTINGS.speculative_frames, SETTINGS.silence_frames
    weak = 10 + spec + 2  # index of the weak frame: 2 frames into the held audio
    probabilities = [0.9] * 10 + [0.0] * (spec + 2) + [0.4] + [0.0] * 30
    events = feed(make(), probabilities)
    sent = sent_frames(events)["u1"]
    assert sent == list(range(weak + 1)), "the held frames and the weak one went out, in order"
    silences = [e for e in events if isinstance(e, UtteranceSilence)]
    assert len(silences) == 2 and silences[1].silence_ms == round((spec + 3) * FRAME_MS + VAD_TAIL_MS)
    (ended,) = [e for e in events if isinstance(e, UtteranceEnded)]
    assert ended.end_sample == (10 + end) * FRAME_SAMPLES, "the weak frame counts as silence: same end"
    assert kinds(events)[-2:] == ["Silence", "Ended"], "the audio after the weak frame is held again"
