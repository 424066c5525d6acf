"""LLM clean-up against a fake chat endpoint: used when sane, the raw text back on timeout, error or runaway."""

from __future__ import annotations

import time

import pytest

from dictation_devtools.fake_chat import FakeChat
from tray_client.text.chat import chat_completions_url
from tray_client.text.cleanup import (
    DEFAULT_PROMPT,
    CleanupClient,
    CleanupSettings,
    judge_reply,
)


def client_for(chat: FakeChat, **settings: object) -> CleanupClient:
    return CleanupClient(CleanupSettings(chat.url, model="qwen2.5:3b", **settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(("final", "expected"), [
    ("um, so I think, uh, we should ship it on Friday.", "So I think, we should ship it on Friday."),
    ("嗯，那个，我们明天开会。", "我们明天开会。"),
    ("呃，这个feature下周上线。", "这个feature下周上线。"),
])
def test_cleanup_uses_a_sane_reply(final, expected):
    with FakeChat() as chat:
        client = client_for(chat)
        result = client.clean(final)
        client.close()
    assert (result.text, result.cleaned) == (expected, True)
    request = chat.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "qwen2.5:3b"
    assert request["messages"][0] == {"role": "system", "content": DEFAULT_PROMPT}
    assert request["messages"][1] == {"role": "user", "content": final}
    assert request["temperature"] == 0


def test_default_prompt_forbids_changing_meaning_and_translating():
    for phrase in ("um", "uh", "嗯", "呃", "那个", "never change the meaning", "never translate"):
        assert phrase in DEFAULT_PROMPT


def test_a_slow_endpoint_costs_at_most_the_timeout_and_loses_nothing():
    final = "um, the deadline is Friday."
    with FakeChat("slow", delay_s=10.0) as chat:
        client = client_for(chat, timeout_s=0.3)
        started = time.monotonic()
        result = client.clean(final)
        waited = time.monotonic() - started
        client.close()
    assert result.text == final and not result.cleaned and "0.3 s" in result.reason
    assert waited < 5.0  # the timeout, plus room for a loaded machine: far below the endpoint's 10 s


def test_a_runaway_reply_is_refused():
    final = "um, see you tomorrow."
    with FakeChat("runaway") as chat:
        result = client_for(chat).clean(final)
    assert result.text == final and not result.cleaned and "grew" in result.reason


@pytest.mark.parametrize("mode", ["broken", "not_json"])
def test_endpoint_errors_give_back_the_raw_text(mode):
    with FakeChat(mode) as chat:
        result = client_for(chat).clean("uh, hello there.")
    assert result.text == "uh, hello there." and not result.cleaned and result.reason


def test_an_unreachable_endpoint_gives_back_the_raw_text():
    client = CleanupClient(CleanupSettings("http://127.0.0.1:9/v1", timeout_s=0.5))
    assert client.clean("hello").text == "hello"


def test_reply_judgement():
    settings = CleanupSettings("http://x")
    reply = {"choices": [{"message": {"content": "Ship it\x1b[2J on\nFriday."}}]}
    assert judge_reply(settings, "um ship it on friday", reply).text == "Ship it[2J on Friday."
    assert not judge_reply(settings, "hello", {"choices": []}).cleaned
    assert not judge_reply(settings, "hello", {"choices": [{"message": {"content": "  "}}]}).cleaned
    assert judge_reply(settings, "x" * 100, {"choices": [{"message": {"content": "y" * 133}}]}).cleaned
    assert not judge_reply(settings, "x" * 100, {"choices": [{"message": {"content": "y" * 134}}]}).cleaned


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:11434", "http://127.0.0.1:11434/v1/chat/completions"),
    ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1/chat/completions"),
    ("http://h/v1/chat/completions", "http://h/v1/chat/completions"),
])
def test_endpoint_url_forms(url, expected):
    assert chat_completions_url(url) == expected
