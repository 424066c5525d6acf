"""Protocol v1 conformance (docs/protocol.md), run against every server the tests use (see conftest.py).

Every message received is validated with dictation_core.protocol.parse_message plus the v1 rules on ids,
languages and error codes, so a test server that drifts from the spec fails here, not in a client test.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from dictation_core import protocol
from dictation_devtools.ws_client import run
from tests.conformance.conftest import CUT_SECONDS, MAX_CONTEXT, PHRASES, Target

QUIET = 0.5  # seconds without a message after which "nothing more came" is taken as settled


def pcm(phrase_index: int) -> bytes:
    return PHRASES[phrase_index].audio.astype("<i2").tobytes()


class Conversation:
    """One connection: send events and audio, receive messages that are each checked against the spec."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.received: list[dict] = []

    async def send(self, event: dict | str | bytes) -> None:
        await self.websocket.send(json.dumps(event) if isinstance(event, dict) else event)

    async def utterance(self, audio: bytes, utterance_id: str | None = None, stop: bool = True) -> None:
        await self.send({"event": "start"} if utterance_id is None else {"event": "start", "id": utterance_id})
        for offset in range(0, len(audio), 32000):
            await self.send(audio[offset:offset + 32000])
        if stop:
            await self.send({"event": "stop"})

    async def until(self, predicate: object, timeout: float = 20.0) -> list[dict]:
        """Receive until `predicate(message)` holds; return the messages received so far in this call."""
        got: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            got.append(await asyncio.wait_for(self._next(), max(remaining, 0.01)))
            if predicate(got[-1]):  # type: ignore[operator]
                return got

    async def settle(self) -> list[dict]:
        """Everything that arrives until the connection has been quiet for QUIET seconds."""
        got: list[dict] = []
        while True:
            try:
                got.append(await asyncio.wait_for(self._next(), QUIET))
            except TimeoutError:
                return got

    async def _next(self) -> dict:
        raw = await self.websocket.recv()
        check_message(raw)
        message = json.loads(raw)
        self.received.append(message)
        return message


def check_message(raw: str | bytes) -> None:
    """The v1 rules on what a server may send, beyond what the lenient client parser accepts."""
    parsed = protocol.parse_message(raw)  # raises for binary frames, non-JSON, unknown types
    data = json.loads(raw)
    if isinstance(parsed, protocol.Ready):
        assert data["protocol"] == 1 and parsed.model and parsed.backend, data
    elif isinstance(parsed, protocol.Partial | protocol.Final):
        assert isinstance(data.get("id"), str) and data["id"], f"v1 results carry their utterance id: {data}"
    if isinstance(parsed, protocol.Partial):
        assert parsed.text, f"a partial is never empty: {data}"
    if isinstance(parsed, protocol.Final):
        assert isinstance(data.get("language"), str), f"a final carries its language: {data}"
    if isinstance(parsed, protocol.ServerError):
        assert parsed.code in (protocol.BAD_MESSAGE, protocol.TOO_LONG, protocol.ENGINE, protocol.BUSY), data
        assert parsed.message, f"an error says what went wrong: {data}"
        if parsed.code in (protocol.TOO_LONG, protocol.ENGINE, protocol.BUSY):
            assert parsed.utterance_id, f"{parsed.code} names its utterance: {data}"


def final_of(utterance_id: str):
    return lambda message: message["type"] == "final" and message["id"] == utterance_id


def conversation(target: Target, scenario) -> list[dict]:
    async def main() -> list[dict]:
        async with connect(target.url, additional_headers=target.headers, max_size=None) as websocket:
            talk = Conversation(websocket)
            await scenario(talk)
            return talk.received

    return run(main())


def of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m["type"] == kind]


def test_hello_gets_ready_and_its_language_is_used(target):
    async def scenario(talk: Conversation) -> None:
        await talk.send({"event": "hello", "protocol": 1, "language": "english", "context": "Qwen"})
        await talk.until(lambda m: m["type"] == "ready")
        await talk.utterance(pcm(0), "h1")
        await talk.until(final_of("h1"))

    messages = conversation(target, scenario)
    assert messages[0]["type"] == "ready"
    (final,) = of_type(messages, "final")
    if target.name != "protocol_server":  # the hand-written server does not model languages
        assert final["language"] == "English"


def test_each_stop_gets_exactly_one_final_with_its_id_and_no_ready_without_hello(target):
    async def scenario(talk: Conversation) -> None:
        await talk.utterance(pcm(0), "a")
        await talk.utterance(pcm(1), "b")
        await talk.until(final_of("b"))  # finals may come in any order: wait for both, then for any extra
        if not any(m["type"] == "final" and m["id"] == "a" for m in talk.received):
            await talk.until(final_of("a"))
        await talk.settle()

    messages = conversation(target, scenario)
    finals = of_type(messages, "final")
    assert sorted(f["id"] for f in finals) == ["a", "b"]
    assert not of_type(messages, "ready") and not of_type(messages, "error")
    assert {m["id"] for m in messages} == {"a", "b"}, "every result names its utterance"
    if target.knows_text:
        assert {f["id"]: f["text"] for f in finals} == {"a": "hello world", "b": "你好世界"}


def test_a_start_without_id_gets_an_id_assigned(target):
    async def scenario(talk: Conversation) -> None:
        await talk.utterance(pcm(0))
        await talk.until(lambda m: m["type"] == "final")
        await talk.utterance(pcm(1))
        await talk.until(lambda m: m["type"] == "final")

    first, second = of_type(conversation(target, scenario), "final")
    assert first["id"] != second["id"]


def test_an_empty_utterance_gets_an_empty_final(target):
    async def scenario(talk: Conversation) -> None:
        await talk.utterance(b"", "empty")
        await talk.until(final_of("empty"))

    (final,) = of_type(conversation(target, scenario), "final")
    assert final["text"] == ""


def test_cancel_discards_the_utterance_silently(target):
    async def scenario(talk: Conversation) -> None:
        await talk.utterance(pcm(0), "gone", stop=False)
        await talk.send({"event": "cancel"})
        await talk.utterance(pcm(1), "kept")
        await talk.until(final_of("kept"))
        await talk.settle()

    messages = conversation(target, scenario)
    assert not [m for m in messages if m.get("id") == "gone" and m["type"] in ("final", "error")]
    assert [f["id"] for f in of_type(messages, "final")] == ["kept"]


BAD_INPUTS = {
    "not JSON": "this is not json",
    "not an object": "[1, 2]",
    "unknown event": json.dumps({"event": "dance"}),
    "bad id": json.dumps({"event": "start", "id": ""}),
    "wrong protocol": json.dumps({"event": "hello", "protocol": 2}),
    "glossary too long": json.dumps({"event": "hello", "context": "x" * (MAX_CONTEXT + 1)}),
    "stop without start": json.dumps({"event": "stop"}),
    "cancel without start": json.dumps({"event": "cancel"}),
    "audio before start": b"\x00\x01" * 100,
}


@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_bad_input_gets_bad_message_and_the_session_goes_on(target, bad):
    async def scenario(talk: Conversation) -> None:
        await talk.send(BAD_INPUTS[bad])
        await talk.until(lambda m: m["type"] == "error")
        await talk.utterance(pcm(0), "after")
        await talk.until(final_of("after"))

    messages = conversation(target, scenario)
    assert messages[0]["type"] == "error" and messages[0]["code"] == "bad_message"
    assert [f["id"] for f in of_type(messages, "final")] == ["after"]
    assert not of_type(messages, "ready"), "a refused hello changes nothing"


def test_an_odd_number_of_audio_bytes_is_refused_and_the_utterance_goes_on(target):
    async def scenario(talk: Conversation) -> None:
        await talk.send({"event": "start", "id": "odd"})
        await talk.send(b"\x00\x01\x02")
        await talk.until(lambda m: m["type"] == "error")
        await talk.send(pcm(0))
        await talk.send({"event": "stop"})
        await talk.until(final_of("odd"))

    messages = conversation(target, scenario)
    assert messages[0]["code"] == "bad_message"
    if target.knows_text:
        assert of_type(messages, "final")[0]["text"] == "hello world"


def test_a_start_while_open_finalizes_the_open_utterance_and_says_so(target):
    async def scenario(talk: Conversation) -> None:
        await talk.utterance(pcm(0), "first", stop=False)
        await talk.utterance(pcm(1), "second")
        await talk.until(lambda m: m["type"] == "final" and m["id"] == "second")
        if not any(m["type"] == "final" and m["id"] == "first" for m in talk.received):
            await talk.until(final_of("first"))

    messages = conversation(target, scenario)
    errors = of_type(messages, "error")
    assert [(e["code"], e.get("id")) for e in errors] == [("bad_message", "first")]
    finals = {f["id"]: f["text"] for f in of_type(messages, "final")}
    assert set(finals) == {"first", "second"}
    if target.knows_text:
        assert finals == {"first": "hello world", "second": "你好世界"}


def test_a_long_utterance_is_cut_announced_before_its_final_and_continued(target):
    seconds = CUT_SECONDS + 1.5
    audio = np.tile(PHRASES[0].audio, 5)[: round(seconds * 16000)].astype("<i2").tobytes()

    async def scenario(talk: Conversation) -> None:
        await talk.utterance(audio, "long")
        finals: set[str] = set()
        while finals != {"long", "long.2"}:
            finals |= {m["id"] for m in await talk.until(lambda m: m["type"] == "final") if m["type"] == "final"}

    messages = conversation(target, scenario)
    outcomes = [(m["type"], m.get("code"), m["id"]) for m in messages if m["type"] in ("final", "error")]
    assert sorted(outcomes, key=str) == sorted([("error", "too_long", "long"), ("final", None, "long"),
                                                ("final", None, "long.2")], key=str)
    assert outcomes.index(("error", "too_long", "long")) < outcomes.index(("final", None, "long")), \
        "the cut is announced before the final of the segment it cut"


def test_results_go_only_to_their_own_connection(target):
    async def one(name: str, index: int) -> list[dict]:
        async with connect(target.url, additional_headers=target.headers) as websocket:
            talk = Conversation(websocket)
            await talk.utterance(pcm(index), name)
            await talk.until(final_of(name))
            return talk.received

    async def both() -> list[list[dict]]:
        return await asyncio.gather(one("left", 0), one("right", 1))

    left, right = run(both())
    assert {m["id"] for m in left} == {"left"} and {m["id"] for m in right} == {"right"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_a_missing_or_wrong_token_is_refused_with_http_401_at_the_handshake(target, headers):
    async def attempt() -> int:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(target.url, additional_headers=headers):
                pass
        return refused.value.response.status_code

    assert run(attempt()) == 401


def test_the_token_may_come_in_the_query_string(target):
    async def scenario() -> list[dict]:
        async with connect(f"{target.url}/?token=conformance-token") as websocket:
            talk = Conversation(websocket)
            await talk.utterance(pcm(0), "q")
            return await talk.until(final_of("q"))

    assert run(scenario())[-1]["id"] == "q"


def test_partials_name_their_utterance_and_come_only_when_the_text_changes(target):
    audio = np.tile(PHRASES[1].audio, 3).astype("<i2").tobytes()  # 3.6 s: several streaming steps

    async def scenario(talk: Conversation) -> None:
        await talk.send({"event": "start", "id": "p"})
        for offset in range(0, len(audio), 16000):  # half-second frames, yielding between them like a mic
            await talk.send(audio[offset:offset + 16000])
            await asyncio.sleep(0)
        await talk.send({"event": "stop"})
        await talk.until(final_of("p"))

    messages = conversation(target, scenario)
    partials = [m["text"] for m in of_type(messages, "partial")]
    assert all(m["id"] == "p" for m in of_type(messages, "partial"))
    assert all(a != b for a, b in itertools.pairwise(partials)), partials
