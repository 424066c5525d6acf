"""Every kind of bad input gets a clear error and the session goes on: the next valid utterance gets its final."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from asr_server.backends import create_backend
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import recv_json, recv_until, run, send_utterance

SPEECH = np.full(16000, 1200, dtype="<i2").tobytes()  # 1 s of a constant: enough for a decode step


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    with running_server(tiny_checkpoint, max_utterance_seconds=3.0, max_frame_bytes=65536,
                        max_context_chars=100) as running:
        yield running


BAD_INPUTS = {
    "not json": ["this is not json"],
    "json but not an object": ["[1, 2, 3]"],
    "unknown event": ['{"event": "dance"}'],
    "event of the wrong type": ['{"event": 7}'],
    "start id of the wrong type": ['{"event": "start", "id": {"a": 1}}'],
    "start id too long": ['{"event": "start", "id": "' + "x" * 500 + '"}'],
    "hello with a wrong protocol": ['{"event": "hello", "protocol": 99}'],
    "hello with an unsupported language": ['{"event": "hello", "language": "Klingon"}'],
    "hello context too long": ['{"event": "hello", "context": "' + "y" * 200 + '"}'],
    "audio before start": [b"\x00\x01" * 100],
    "odd-length frame": ['{"event": "start", "id": "odd"}', b"\x00" * 101],
    "oversized frame": ['{"event": "start", "id": "big"}', b"\x00" * (65536 + 2)],
    "stop without start": ['{"event": "stop"}'],
    "cancel without start": ['{"event": "cancel"}'],
    "deeply nested json": ["[" * 100000 + "]" * 100000],
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_gets_an_error_and_the_session_goes_on(server, name):
    async def scenario() -> tuple[list[dict], list[dict]]:
        async with connect(server.url, max_size=None) as websocket:
            errors = []
            for message in BAD_INPUTS[name]:
                await websocket.send(message)
            errors = await recv_until(websocket, "error", timeout=10)
            # An open utterance from the bad input is still open: stop it (or cancel) and dictate normally.
            await websocket.send(json.dumps({"event": "cancel"}))
            await send_utterance(websocket, SPEECH, utterance_id="good")
            after = await recv_until(websocket, "final", utterance_id="good")
            return errors, after

    errors, after = run(scenario())
    error = errors[-1]
    assert error["code"] == "bad_message" and len(error["message"]) > 15, error
    assert after[-1]["type"] == "final" and after[-1]["id"] == "good"


def test_second_start_finalizes_the_open_utterance_and_loses_nothing(server):
    async def scenario() -> list[dict]:
        async with connect(server.url) as websocket:
            await websocket.send(json.dumps({"event": "start", "id": "first"}))
            await websocket.send(SPEECH)
            await send_utterance(websocket, SPEECH, utterance_id="second")
            messages = await recv_until(websocket, "final", utterance_id="second")
            if not any(m.get("type") == "final" and m.get("id") == "first" for m in messages):
                messages += await recv_until(websocket, "final", utterance_id="first")
            return messages

    messages = run(scenario())
    finals = {m["id"] for m in messages if m["type"] == "final"}
    assert finals == {"first", "second"}
    assert any(m["type"] == "error" and m["code"] == "bad_message" and m.get("id") == "first" for m in messages)


def test_utterance_over_the_limit_is_finalized_and_continued(server):
    """5 s into a 3 s limit: a final for the first 3 s, too_long, and the rest as "<id>.2" at stop."""
    async def scenario() -> list[dict]:
        async with connect(server.url) as websocket:
            await send_utterance(websocket, SPEECH * 5, utterance_id="long")
            messages = await recv_until(websocket, "final", utterance_id="long.2")
            if not any(m["type"] == "final" and m["id"] == "long" for m in messages):
                messages += await recv_until(websocket, "final", utterance_id="long")
            return messages

    messages = run(scenario())
    finals = sorted(m["id"] for m in messages if m["type"] == "final")
    assert finals == ["long", "long.2"], "both parts get a final (they may finish in either order)"
    too_long = [m for m in messages if m["type"] == "error"]
    assert [m["code"] for m in too_long] == ["too_long"] and too_long[0]["id"] == "long"


def test_empty_utterance_still_gets_a_final(server):
    async def scenario() -> list[dict]:
        async with connect(server.url) as websocket:
            await send_utterance(websocket, b"", utterance_id="empty")
            return await recv_until(websocket, "final")

    final = run(scenario())[-1]
    assert final == {"type": "final", "id": "empty", "text": "", "language": ""}


def test_cancel_discards_without_a_final(server):
    async def scenario() -> list[dict]:
        async with connect(server.url) as websocket:
            await websocket.send(json.dumps({"event": "start", "id": "dropme"}))
            await websocket.send(SPEECH)
            await websocket.send(json.dumps({"event": "cancel"}))
            await send_utterance(websocket, SPEECH, utterance_id="kept")
            return await recv_until(websocket, "final", utterance_id="kept")

    messages = run(scenario())
    assert [m["id"] for m in messages if m["type"] == "final"] == ["kept"]
    assert not any(m.get("id") == "dropme" and m["type"] == "final" for m in messages)


def test_frame_far_beyond_the_limit_closes_only_that_connection(server):
    async def scenario() -> tuple[bool, list[dict]]:
        closed = False
        websocket = await connect(server.url, max_size=None)
        await websocket.send(json.dumps({"event": "start"}))
        try:
            await websocket.send(b"\x00" * (8 << 20))
            await recv_json(websocket, timeout=10)
        except ConnectionClosed as error:
            closed = error.rcvd is not None and error.rcvd.code == 1009
        # The server already closed it. Closing again would abort a transport that asyncio (CPython 3.11) has
        # detached from its loop, which raises inside the client library.
        if not websocket.transport.is_closing():
            websocket.transport.abort()
        async with connect(server.url) as websocket:
            await send_utterance(websocket, SPEECH, utterance_id="next")
            return closed, await recv_until(websocket, "final")

    closed, messages = run(scenario())
    assert closed, "a frame beyond the transport limit is refused with close code 1009 (message too big)"
    assert messages[-1]["id"] == "next"


def test_decode_error_reaches_only_its_own_session(tiny_checkpoint):
    """A poisoned utterance fails alone, even when batched with another session's."""
    poison = np.full(16000 * 2, -3000, dtype="<i2").tobytes()

    def failing_backend(config):
        backend = create_backend(config)
        real_generate = backend.generate

        def generate(items):
            if any(abs(float(np.median(item.audio)) * 32768 + 3000) < 1 for item in items):
                raise RuntimeError("injected CUDA error")
            return real_generate(items)

        backend.generate = generate
        return backend

    async def client(url: str, pcm: bytes, utterance_id: str) -> list[dict]:
        async with connect(url) as websocket:
            await send_utterance(websocket, pcm, utterance_id=utterance_id)
            first = await recv_until(websocket, "final", utterance_id=utterance_id) if utterance_id == "ok" \
                else await recv_until(websocket, "error")
            await send_utterance(websocket, SPEECH, utterance_id=utterance_id + "-again")
            return first + await recv_until(websocket, "final", utterance_id=utterance_id + "-again")

    async def both(url: str) -> list[list[dict]]:
        return await asyncio.gather(client(url, poison, "bad"), client(url, SPEECH * 2, "ok"))

    with running_server(tiny_checkpoint, backend_factory=failing_backend) as server:
        bad, ok = run(both(server.url))
    engine_errors = [m for m in bad if m["type"] == "error"]
    assert engine_errors and engine_errors[-1]["code"] == "engine" and engine_errors[-1]["id"] == "bad"
    assert not any(m["type"] == "final" and m["id"] == "bad" for m in bad), "no empty final hides the failure"
    assert any(m["type"] == "final" and m["id"] == "bad-again" for m in bad), "the session goes on"
    assert [m["id"] for m in ok if m["type"] == "final"] == ["ok", "ok-again"]
    assert not any(m["type"] == "error" for m in ok)


def test_ids_and_texts_that_cannot_be_encoded_never_break_a_reply(server):
    """Found by fuzzing: an id holding a lone surrogate made the final unencodable and closed the connection."""
    async def scenario() -> list[dict]:
        async with connect(server.url) as websocket:
            await websocket.send('{"event": "start", "id": "\\udaec"}')
            await websocket.send('{"event": "start", "id": "a\\u0007b"}')
            errors = await recv_until(websocket, "error")
            errors += await recv_until(websocket, "error")
            await send_utterance(websocket, SPEECH, utterance_id="fine")
            return errors + await recv_until(websocket, "final", utterance_id="fine")

    messages = run(scenario())
    assert [m["code"] for m in messages if m["type"] == "error"] == ["bad_message", "bad_message"]
    assert messages[-1]["id"] == "fine"

