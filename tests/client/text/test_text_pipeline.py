"""The clean-up through the whole pipeline: the settings reach the client, a stalled endpoint costs the timeout."""

from __future__ import annotations

import time

from dictation_devtools.fake_chat import FakeChat
from dictation_devtools.scripted_server import ScriptedServer
from tray_client.config import ClientConfig
from tray_client.events import FinalText
from tray_client.pipeline import Pipeline


def run(sample, texts, recording_sink, **settings) -> tuple[list[FinalText], float]:
    finals: list[FinalText] = []
    with ScriptedServer.for_sample(sample, texts) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, input_wav=str(sample.path), fast=True, no_tray=True,
                                         **settings), sink=recording_sink)
        pipeline.subscribe(lambda e: finals.append(e) if isinstance(e, FinalText) else None)
        started = time.monotonic()
        pipeline.start()
        assert pipeline.wait_done(60)
        took = time.monotonic() - started
        pipeline.shutdown()
    return finals, took


def test_cleanup_settings_reach_the_endpoint_and_history_keeps_the_raw_text(speech, recording_sink):
    texts = ["um, so the build is green.", "嗯，那个，我们明天发布。", "uh, ship it."]
    with FakeChat() as chat:
        finals, _ = run(speech.english, texts, recording_sink, cleanup=True, cleanup_url=chat.url,
                        cleanup_model="qwen2.5:3b", cleanup_prompt="Only remove fillers.")
    assert [f.text for f in finals] == ["So the build is green.", "我们明天发布。", "Ship it."]
    assert [f.raw for f in finals] == texts
    assert recording_sink.emitted == ["So the build is green.", " 我们明天发布。", "Ship it."]  # no space after 。
    assert {r["model"] for r in chat.requests} == {"qwen2.5:3b"}
    assert {r["messages"][0]["content"] for r in chat.requests} == {"Only remove fillers."}


def test_a_stalled_endpoint_delays_each_final_by_the_timeout_only(speech, recording_sink):
    texts = ["um, the first one.", "uh, the second one.", "the third one."]
    with FakeChat("slow", delay_s=30.0) as chat:
        finals, took = run(speech.english, texts, recording_sink, cleanup=True, cleanup_url=chat.url,
                           cleanup_timeout_s=0.5)
    assert [f.text for f in finals] == texts  # as dictated, nothing lost
    assert took < 15.0, "each final waited 0.5 s, not the 30 s the endpoint stalls"
