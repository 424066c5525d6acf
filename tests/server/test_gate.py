"""The HTTP gate and the limits: /healthz, the token, --max-sessions and the idle timeout, at and past the edge."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from asr_server.backends import create_backend
from dictation_devtools.polling import wait_for
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import dictate, recv_json, run

SPEECH = b"\x10\x00" * 16000
TOKEN = {"Authorization": "Bearer s3cret-token"}


def _status_of_refusal(url: str, headers: dict[str, str] | None = None) -> int:
    async def attempt() -> int:
        try:
            async with connect(url, additional_headers=headers):
                return 101
        except InvalidStatus as error:
            return error.response.status_code

    return run(attempt())


def test_healthz_is_503_while_loading_then_200(tiny_checkpoint):
    release = threading.Event()

    def slow_backend(config):
        release.wait(30)
        return create_backend(config)

    with running_server(tiny_checkpoint, backend_factory=slow_backend, wait_loaded=False) as server:
        status, body = server.health()
        assert (status, body["status"]) == (503, "loading")
        assert _status_of_refusal(server.url) == 503, "no sessions before the model is ready"
        release.set()
        deadline = time.monotonic() + 30
        while server.health()[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        status, body = server.health()
    assert status == 200
    assert body["status"] == "ok" and body["backend"] == "transformers" and body["model"] == str(tiny_checkpoint)
    assert body["sessions"] == 0 and body["max_sessions"] == 8


@pytest.fixture(scope="module")
def secured(tiny_checkpoint):
    with running_server(tiny_checkpoint, token="s3cret-token", max_sessions=2,
                        idle_timeout_seconds=10.0) as server:
        yield server


def test_wrong_or_missing_token_is_refused(secured):
    assert _status_of_refusal(secured.url) == 401
    assert _status_of_refusal(secured.url, {"Authorization": "Bearer wrong"}) == 401
    assert _status_of_refusal(secured.url + "/?token=s3cret-toke") == 401, "a prefix of the token is not enough"
    assert _status_of_refusal(secured.url, {"Authorization": "Basic s3cret-token"}) == 401


def test_token_accepted_from_header_or_query(secured):
    by_header = run(dictate(secured.url, [SPEECH], headers={"Authorization": "Bearer s3cret-token"}))
    by_query = run(dictate(secured.url + "/?token=s3cret-token", [SPEECH]))
    assert by_header[-1]["type"] == "final" and by_query[-1]["type"] == "final"


def test_healthz_needs_no_token_but_reveals_no_audio_or_text(secured):
    """/healthz is reachable without the token, so nothing a session said or sent may show up in it."""
    messages = run(dictate(secured.url, [SPEECH], ids=["private-utterance-id"], headers=TOKEN,
                           hello={"context": "private glossary words"}))
    assert messages[-1]["type"] == "final"
    status, body = secured.health()  # no token sent
    assert status == 200 and set(body) >= {"status", "model", "backend", "sessions"}
    shown = json.dumps(body, ensure_ascii=False)
    for secret in ("private-utterance-id", "private glossary words", "s3cret-token"):
        assert secret not in shown
    # No text of any session can be in it: its only strings are the server's status, model and backend.
    assert strings_in(body) == {body["status"], body["model"], body["backend"]}, body


def strings_in(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(strings_in(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(strings_in(item) for item in value)) if value else set()
    return set()


def test_max_sessions_refuses_the_extra_connection_with_503(secured):
    url = secured.url + "/?token=s3cret-token"

    async def scenario() -> tuple[int, list[dict]]:
        async with connect(url) as first, connect(url) as second:
            for websocket in (first, second):  # a slot is taken by the first valid message, not the handshake
                await websocket.send(json.dumps({"event": "hello", "protocol": 1}))
                await recv_json(websocket)
            try:
                async with connect(url):
                    third = 101
            except InvalidStatus as error:
                third = error.response.status_code
        freed = await asyncio.to_thread(wait_for, lambda: secured.health()[1]["sessions"] == 0, 10)
        assert freed, "the two slots are free again once their connections closed"
        return third, await dictate(url, [SPEECH])

    third, after = run(scenario())
    assert third == 503
    assert after[-1]["type"] == "final", "slots are released when connections close"


def test_idle_connection_is_closed_and_frees_its_slot(secured):
    url = secured.url + "/?token=s3cret-token"

    async def scenario() -> tuple[float, int | None]:
        async with connect(url) as websocket:
            await websocket.send(json.dumps({"event": "hello", "protocol": 1}))
            await recv_json(websocket)  # ready
            started = time.monotonic()
            try:
                await recv_json(websocket, timeout=30)
            except ConnectionClosed as error:
                return time.monotonic() - started, error.rcvd.code if error.rcvd else None
        return -1.0, None

    waited, code = run(scenario())
    assert 9.9 <= waited < 20 and code == 1000
