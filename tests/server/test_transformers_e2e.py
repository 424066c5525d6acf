"""The real server with the real transformers backend on the tiny checkpoint, over a real WebSocket."""

from __future__ import annotations

import asyncio
import itertools
import json

from websockets.asyncio.client import connect

from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import dictate, recv_until, run, send_utterance


def test_partials_then_final_for_a_fixture_wav(tiny_checkpoint, speech):
    pcm = speech.english.samples.tobytes()  # several phrases, a few seconds: several chunks
    with running_server(tiny_checkpoint, chunk_seconds=1.0) as server:
        messages = run(dictate(server.url, [pcm], hello={"language": None, "context": "Qwen"}, ids=["a1"]))
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "ready" and messages[0]["backend"] == "transformers"
    # On the CPU a final takes seconds: the server tells clients to wait for it rather than replay at 10 s.
    assert messages[0]["final_timeout_s"] == 120.0
    assert kinds[-1] == "final" and messages[-1]["id"] == "a1"
    partials = [m for m in messages if m["type"] == "partial"]
    assert partials, "a multi-second utterance streams partials before its final"
    assert all(p["id"] == "a1" for p in partials)
    texts = [p["text"] for p in partials]
    assert all(a != b for a, b in itertools.pairwise(texts)), "a partial is sent only when it changed"
    assert isinstance(messages[-1]["text"], str) and "language" in messages[-1]


def test_original_protocol_client_gets_partial_and_final_unchanged(tiny_checkpoint, speech):
    """The original client: start without id, raw PCM, stop; no hello. It reads only type and text."""
    pcm = speech.english.phrase_audio(0).tobytes()

    async def original_client(url: str) -> list[dict]:
        async with connect(url) as websocket:
            await websocket.send(json.dumps({"event": "start"}))
            for offset in range(0, len(pcm), 3200):
                await websocket.send(pcm[offset:offset + 3200])
            await websocket.send(json.dumps({"event": "stop"}))
            messages = await recv_until(websocket, "final")
            # A second utterance on the same connection works the same way.
            await send_utterance(websocket, pcm)
            return messages + await recv_until(websocket, "final")

    with running_server(tiny_checkpoint) as server:
        messages = run(original_client(server.url))
    finals = [m for m in messages if m["type"] == "final"]
    assert len(finals) == 2
    assert {m["type"] for m in messages} <= {"partial", "final"}, "no extra message types for an old client"
    assert all(isinstance(m["text"], str) for m in messages)
    assert finals[0]["id"] != finals[1]["id"], "server-assigned ids tell utterances apart"


def test_eight_concurrent_sessions_all_get_their_finals(tiny_checkpoint, speech):
    clips = [speech.english.phrase_audio(i % len(speech.english.phrases)).tobytes() for i in range(8)]

    async def many(url: str) -> list[list[dict]]:
        return await asyncio.gather(*(dictate(url, [clip], ids=[f"s{n}"], realtime=4.0)
                                      for n, clip in enumerate(clips)))

    with running_server(tiny_checkpoint, max_sessions=8) as server:
        results = run(many(server.url))
        _, health = server.health()
    for n, messages in enumerate(results):
        finals = [m for m in messages if m["type"] == "final"]
        assert [f["id"] for f in finals] == [f"s{n}"]
    assert health["largest_batch"] > 1, "concurrent sessions share decode steps"
