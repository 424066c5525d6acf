"""The streaming algorithm without a model: chunking, catch-up, the bounded window, text assembly."""

from __future__ import annotations

import numpy as np
import pytest

from asr_server.engine.base import StepOutput
from asr_server.streaming import StreamSettings, UtteranceStream

SETTINGS = StreamSettings.from_seconds(chunk_seconds=1.0, window_seconds=20.0, unfixed_chunk_num=2,
                                       unfixed_token_num=5)


def pcm(seconds: float, amplitude: int = 100) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


def answer(stream: UtteranceStream, text: str) -> None:
    stream.apply(StepOutput(raw=f"language English<asr_text>{text}", language="English", text=text))


def test_first_step_comes_after_one_chunk_of_speech():
    stream = UtteranceStream("u", SETTINGS)
    stream.feed(pcm(0.99))
    assert stream.next_step() is None
    stream.feed(pcm(0.02))
    step = stream.next_step()
    assert step is not None and len(step.audio) == 16000 and not step.is_final and step.prefix_raw is None
    assert step.audio.dtype == np.float32 and abs(float(step.audio[0]) - 100 / 32768) < 1e-7


def test_one_step_in_flight_and_a_late_step_takes_every_waiting_chunk():
    stream = UtteranceStream("u", SETTINGS)
    stream.feed(pcm(1.0))
    assert stream.next_step() is not None
    stream.feed(pcm(3.5))
    assert stream.next_step() is None, "only one step per utterance at a time"
    answer(stream, "one")
    step = stream.next_step()
    assert step is not None and len(step.audio) == 4 * 16000, "re-feeds the window: 1 s + 3 whole chunks"
    assert stream.pending_samples == 8000


def test_prefix_is_used_after_the_unfixed_steps():
    stream = UtteranceStream("u", SETTINGS)
    prefixes = []
    for n in range(4):
        stream.feed(pcm(1.0))
        step = stream.next_step()
        prefixes.append(step.prefix_raw)
        answer(stream, f"word{n}")
    assert prefixes[:2] == [None, None]
    assert prefixes[2] == "language English<asr_text>word1" and prefixes[3].endswith("word2")


def test_stop_flushes_the_tail_and_marks_the_final():
    stream = UtteranceStream("u", SETTINGS)
    stream.feed(pcm(1.3))
    stream.next_step()
    answer(stream, "hello")
    stream.stop()
    step = stream.next_step()
    assert step is not None and step.is_final and step.urgent and len(step.audio) == round(1.3 * 16000)
    answer(stream, "hello world")
    assert stream.final_without_decode() and stream.text == "hello world"


def test_stop_with_nothing_new_needs_no_decode():
    stream = UtteranceStream("u", SETTINGS)
    stream.feed(pcm(2.0))
    stream.next_step()
    answer(stream, "done")
    stream.stop()
    assert stream.final_without_decode() and stream.next_step() is None and stream.text == "done"
    empty = UtteranceStream("e", SETTINGS)
    empty.stop()
    assert empty.final_without_decode() and empty.text == ""


def test_window_commits_text_and_restarts_past_its_length():
    stream = UtteranceStream("u", StreamSettings.from_seconds(1.0, 3.0, 2, 5))
    lengths = []
    for n in range(5):
        stream.feed(pcm(1.0))
        step = stream.next_step()
        lengths.append(len(step.audio) // 16000)
        answer(stream, f"w{n}")
    assert lengths == [1, 2, 3, 1, 2]
    assert stream.text == "w2 w4", "the first window's last text is committed, the second's is current"


def test_a_burst_longer_than_the_window_is_decoded_window_by_window():
    stream = UtteranceStream("u", StreamSettings.from_seconds(1.0, 20.0, 2, 5))
    stream.feed(pcm(45.0))
    stream.stop()
    sizes = []
    while (step := stream.next_step()) is not None:
        sizes.append(len(step.audio) / 16000)
        answer(stream, f"part{len(sizes)}")
        if step.is_final:
            break
    assert sizes == [20.0, 20.0, 5.0]
    assert stream.text == "part1 part2 part3"


def audio_fed_per_second(seconds: int, settings: StreamSettings) -> float:
    """Stream `seconds` of speech a chunk at a time, decoding whenever a step is ready, then the final."""
    stream = UtteranceStream("u", settings)
    fed = 0
    for _ in range(seconds):
        stream.feed(pcm(1.0))
        if (step := stream.next_step()) is not None:
            fed += len(step.audio)
            answer(stream, "x")
    stream.stop()
    while (step := stream.next_step()) is not None:
        fed += len(step.audio)
        answer(stream, "x")
    return fed / (seconds * 16000)


@pytest.mark.parametrize("seconds", [10, 20, 30, 60, 120])
def test_audio_fed_per_second_of_speech_stays_bounded(seconds):
    """The original re-feeds everything every chunk: 120 s costs ~60x. Ours stays at or under 6x at any length."""
    assert audio_fed_per_second(seconds, SETTINGS) <= 6.0


def test_partials_still_come_every_chunk_early_in_an_utterance():
    stream = UtteranceStream("u", SETTINGS)
    steps = 0
    for _ in range(4):
        stream.feed(pcm(1.0))
        if stream.next_step() is not None:
            steps += 1
            answer(stream, "x")
    assert steps == 4


@pytest.mark.parametrize(("windows", "joined"), [
    (["hello there", "general Kenobi"], "hello there general Kenobi"),
    (["你好", "世界"], "你好世界"),
    (["こんにちは", "世界"], "こんにちは世界"),
    (["안녕하세요", "감사합니다"], "안녕하세요 감사합니다"),
    (["我用", "Python"], "我用 Python"),
])
def test_window_commits_join_text_by_the_shared_rule(windows, joined):
    """Korean windows used to be glued ("안녕하세요감사합니다"): the server now joins as the client spaces."""
    stream = UtteranceStream("u", StreamSettings.from_seconds(1.0, 1.0, 2, 5))
    for text in windows:
        stream.feed(pcm(1.0))
        stream.next_step()
        answer(stream, text)
    stream.feed(pcm(1.0))
    stream.next_step()
    answer(stream, "")
    assert stream.text == joined
