"""The server's Session without a socket or a model: protocol events in, messages and decode jobs out.

The harness plays the inference worker: it keeps the jobs the session submits, and the test answers them
(or fails them) in the order it chooses, so every rule of docs/protocol.md is checked step by step.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from asr_server.config import ServerConfig
from asr_server.engine.base import DecodeRequest, EngineInfo, StepOutput
from asr_server.session import Session
from dictation_core import protocol
from tests.server._recording_engine import RecordingEngine

ENGINE = EngineInfo(backend="stand-in", model="tiny", supported_languages=("Chinese", "English"))


def pcm(seconds: float) -> bytes:
    return np.full(round(seconds * 16000), 300, dtype="<i2").tobytes()


class Harness:
    """A session wired to lists: `sent` holds the messages (parsed), `jobs` the decode jobs not answered yet."""

    def __init__(self, worker_promotes: bool = False, **settings: object) -> None:
        config = ServerConfig(**{"model": "tiny", "backend": "transformers", **settings})
        self.sent: list[dict] = []
        self.engine = RecordingEngine(promotes=worker_promotes)
        self.jobs = self.engine.jobs
        self.cancelled = self.engine.cancelled
        self.promoted = self.engine.promoted
        self.session = Session(config, ENGINE, lambda text: self.sent.append(json.loads(text)), self.engine)

    def text(self, event: dict | str) -> None:
        self.session.on_text(event if isinstance(event, str) else json.dumps(event))

    def utterance(self, seconds: float, utterance_id: str | None = None, *, stop: bool = True) -> None:
        self.text({"event": "start"} if utterance_id is None else {"event": "start", "id": utterance_id})
        self.feed(seconds)
        if stop:
            self.text({"event": "stop"})

    def feed(self, seconds: float) -> None:
        audio = pcm(seconds)
        for offset in range(0, len(audio), 32000):  # 1 s frames, as the tray client sends at most
            self.session.on_binary(audio[offset:offset + 32000])

    def answer(self, text: str, language: str = "English") -> DecodeRequest:
        """Answer the oldest job as the model would."""
        return self.engine.answer(StepOutput(raw=f"language {language}<asr_text>{text}", language=language,
                                             text=text))

    def fail(self, why: str = "engine gone") -> DecodeRequest:
        return self.engine.fail(why)

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.sent if m["type"] == kind]


def test_hello_sets_the_language_and_context_and_gets_ready():
    harness = Harness()
    harness.text({"event": "hello", "protocol": 1, "language": "chinese", "context": "术语"})
    assert harness.sent == [{"type": "ready", "protocol": 1, "model": "tiny", "backend": "stand-in", "silence": True}]
    harness.utterance(1.0, "a")
    job = harness.jobs[0]
    assert (job.language, job.context) == ("Chinese", "术语")


def test_a_language_the_model_lacks_is_refused_and_changes_nothing():
    harness = Harness(language="English")
    harness.text({"event": "hello", "language": "Klingon"})
    (error,) = harness.sent
    assert error["code"] == "bad_message" and "Klingon" in error["message"] and "Chinese, English" in error["message"]
    harness.utterance(1.0, "a")
    assert harness.jobs[0].language == "English", "the server's --language still applies"


def test_partials_only_when_the_text_changes_then_one_final_with_the_id():
    harness = Harness()
    harness.utterance(1.0, "u", stop=False)
    assert len(harness.jobs) == 1 and not harness.jobs[0].urgent, "a partial step after one chunk"
    harness.answer("hello")
    harness.feed(1.0)
    assert len(harness.jobs) == 1, "one step in flight at a time"
    harness.answer("hello")  # same text: no new partial
    assert harness.of_type("partial") == [{"type": "partial", "id": "u", "text": "hello"}]
    harness.feed(0.5)
    harness.text({"event": "stop"})
    final_job = harness.jobs[0]
    assert final_job.urgent and len(final_job.audio) == round(2.5 * 16000), "the final re-feeds the window"
    harness.answer("hello world")
    assert harness.of_type("final") == [{"type": "final", "id": "u", "text": "hello world", "language": "English"}]
    assert harness.jobs == []


def test_a_partial_step_still_queued_at_stop_is_promoted_to_be_the_final():
    """One decode instead of two: the queued partial takes the rest of the audio and becomes the final."""
    harness = Harness(worker_promotes=True)
    harness.utterance(1.0, "u", stop=False)
    harness.feed(0.5)  # arrives while the partial step waits: no second step
    harness.text({"event": "stop"})
    (job,) = harness.jobs
    assert harness.promoted == [(job, round(1.5 * 16000))]
    harness.answer("all of it")
    assert harness.jobs == [], "no further decode for the final"
    assert harness.sent == [{"type": "final", "id": "u", "text": "all of it", "language": "English"}]


def test_a_step_held_in_the_connections_own_queue_is_promoted_there():
    harness = Harness(max_session_steps=1)
    harness.utterance(1.0, "a")  # a's partial step is at the engine, its final follows it
    harness.utterance(1.2, "b")  # b's step waits in the connection's own queue when b stops
    assert len(harness.jobs) == 1
    harness.answer("first")  # a's step covered all of a: a's final; the quota lets b's step go
    (job,) = harness.jobs
    assert job.urgent and len(job.audio) == round(1.2 * 16000), "b's queued step became its final"
    harness.answer("second")
    assert [(m["id"], m["text"]) for m in harness.of_type("final")] == [("a", "first"), ("b", "second")]
    assert harness.jobs == []


def test_an_empty_utterance_gets_an_empty_final_without_a_decode():
    harness = Harness()
    harness.utterance(0.0, "e")
    assert harness.jobs == []
    assert harness.sent == [{"type": "final", "id": "e", "text": "", "language": ""}]


def test_ids_are_assigned_when_the_client_sends_none():
    harness = Harness()
    harness.utterance(0.0)
    harness.utterance(0.0)
    assert [m["id"] for m in harness.of_type("final")] == ["u1", "u2"]


def test_a_start_while_open_stops_the_open_utterance_which_still_gets_its_final():
    harness = Harness()
    harness.utterance(1.5, "first", stop=False)
    harness.answer("one")  # the partial step of the first second
    harness.utterance(1.0, "second")
    errors = harness.of_type("error")
    assert [(m["code"], m["id"]) for m in errors] == [("bad_message", "first")]
    assert "first" in errors[0]["message"] and "will get its final" in errors[0]["message"]
    while harness.jobs:
        harness.answer("one two" if "first" in harness.jobs[0].label else "three")
    assert sorted((m["id"], m["text"]) for m in harness.of_type("final")) == [("first", "one two"),
                                                                                ("second", "three")]


def test_cancel_sends_nothing_more_for_the_utterance_and_aborts_its_step():
    harness = Harness()
    harness.utterance(1.0, "gone", stop=False)
    job = harness.jobs[0]
    harness.text({"event": "cancel"})
    assert harness.cancelled == [job], "the step at the engine is aborted"
    assert harness.sent == []


def test_a_long_utterance_is_cut_announced_first_and_continued_under_a_new_id():
    harness = Harness(max_utterance_seconds=2.0)
    harness.utterance(3.5, "long")
    cut = harness.sent[0]
    assert (cut["type"], cut["code"], cut["id"]) == ("error", "too_long", "long")
    finals = {}
    while harness.jobs:
        job = harness.answer("words")
        if job.urgent:
            finals[job.label.rsplit(" ", 1)[-1]] = len(job.audio) / 16000
    assert finals == {"long": 2.0, "long.2": 1.5}, "long's final decodes its 2 s, the rest is long.2"
    assert sorted(m["id"] for m in harness.of_type("final")) == ["long", "long.2"]
    assert harness.sent.index(cut) < next(i for i, m in enumerate(harness.sent) if m.get("id") == "long"
                                          and m["type"] == "final")


def test_a_failed_final_is_an_engine_error_instead_of_the_final_and_a_failed_partial_is_not_reported():
    harness = Harness()
    harness.utterance(1.0, "p", stop=False)
    harness.fail()  # the partial step: not reported; the next step decodes that audio again
    assert harness.sent == [] and harness.jobs == []
    harness.feed(1.0)
    harness.text({"event": "stop"})
    assert len(harness.jobs) == 1 and len(harness.jobs[0].audio) == 2 * 16000
    harness.fail("out of memory")
    assert harness.sent[-1]["type"] == "error" and harness.sent[-1]["code"] == "engine"
    assert harness.sent[-1]["id"] == "p" and "out of memory" in harness.sent[-1]["message"]
    assert not harness.of_type("final")


def test_past_the_connections_share_a_final_gets_busy_with_its_id():
    harness = Harness(max_session_steps=1, max_session_backlog=0)
    harness.utterance(1.0, "a")
    harness.utterance(1.0, "b")
    assert [(m["code"], m["id"]) for m in harness.of_type("error")] == [("busy", "b")]
    harness.answer("first")
    assert [m["id"] for m in harness.of_type("final")] == ["a"]


@pytest.mark.parametrize(("frame", "says"), [
    (b"\x00\x01\x02", "not whole int16 samples"),
    (b"\x00" * 70_000, "over the 65536-byte limit"),
])
def test_bad_audio_frames_get_bad_message_and_the_utterance_goes_on(frame, says):
    harness = Harness()
    harness.utterance(0.5, "a", stop=False)
    harness.session.on_binary(frame)
    assert harness.sent[-1]["code"] == "bad_message" and says in harness.sent[-1]["message"]
    harness.session.on_binary(pcm(0.5))
    harness.text({"event": "stop"})
    assert len(harness.jobs[0].audio) == 16000, "the bad frame was ignored, the rest kept"


def test_audio_before_start_and_stop_without_start_are_refused():
    harness = Harness()
    harness.session.on_binary(pcm(0.1))
    harness.text({"event": "stop"})
    harness.text("{not json")
    assert [m["code"] for m in harness.sent] == ["bad_message"] * 3
    assert "audio before start" in harness.sent[0]["message"]


def test_after_close_nothing_is_sent_and_steps_in_flight_are_aborted():
    harness = Harness()
    harness.utterance(1.0, "a")
    job = harness.jobs[0]
    harness.session.close()
    assert harness.cancelled == [job]
    assert harness.sent == []


def test_every_message_the_session_sends_parses_as_protocol_v1():
    harness = Harness(max_utterance_seconds=1.0)
    harness.text({"event": "hello"})
    harness.utterance(1.5, "x")
    while harness.jobs:
        harness.answer("字")
    for message in harness.sent:
        protocol.parse_message(json.dumps(message))
    assert {m["type"] for m in harness.sent} >= {"ready", "error", "final"}
