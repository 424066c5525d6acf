"""Protocol v1 messages, both directions, without a socket (dictation_core.protocol; spec: docs/protocol.md)."""

from __future__ import annotations

import json

import pytest

from dictation_core import protocol

LIMIT = 100


def parse(raw: str) -> protocol.ClientEvent:
    return protocol.parse_event(raw, max_context_chars=LIMIT)


# -- client -> server -----------------------------------------------------------------------------------------


def test_client_events_have_the_v1_shape():
    assert json.loads(protocol.hello("Chinese", "通义, Qwen")) == {
        "event": "hello", "protocol": 1, "language": "Chinese", "context": "通义, Qwen"}
    assert json.loads(protocol.hello(None, ""))["language"] is None
    assert json.loads(protocol.start("s-1")) == {"event": "start", "id": "s-1"}
    assert json.loads(protocol.stop()) == {"event": "stop"}
    assert json.loads(protocol.cancel()) == {"event": "cancel"}


def test_what_the_client_builds_the_server_parses_back():
    assert parse(protocol.hello("chinese", "通义, Qwen")) == protocol.Hello("Chinese", "通义, Qwen")
    assert parse(protocol.hello(None, "")) == protocol.Hello(None, "")
    assert parse(protocol.start("s-1")) == protocol.Start("s-1")
    assert parse(protocol.stop()) == protocol.Stop()
    assert parse(protocol.cancel()) == protocol.Cancel()


def test_the_original_clients_events_parse():
    """The original client sends start without an id and never hello: the server assigns ids."""
    assert parse('{"event":"start"}') == protocol.Start(None)
    assert parse('{"event":"start","id":7}') == protocol.Start("7")
    assert parse('{"event":"hello"}') == protocol.Hello(None, None)
    assert parse('{"event":"hello","protocol":1,"language":"  "}') == protocol.Hello(None, None)


@pytest.mark.parametrize(("raw", "says"), [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ('"start"', "JSON object"),
    ('{"event": "dance"}', "unknown event 'dance'"),
    ("{}", "unknown event None"),
    ('{"event": "start", "id": ""}', "1 to 128"),
    ('{"event": "start", "id": "' + "x" * 129 + '"}', "1 to 128"),
    ('{"event": "start", "id": true}', "use a string"),
    ('{"event": "start", "id": [1]}', "use a string"),
    ('{"event": "start", "id": "a\\u0007b"}', "printable"),
    ('{"event": "start", "id": "\\udaec"}', "printable"),
    ('{"event": "hello", "protocol": 2}', "speaks protocol 1"),
    ('{"event": "hello", "protocol": true}', "speaks protocol 1"),
    ('{"event": "hello", "language": 5}', "hello language 5"),
    ('{"event": "hello", "context": ["a"]}', "context must be a string"),
    ('{"event": "hello", "context": "' + "x" * (LIMIT + 1) + '"}', f"over the {LIMIT} limit"),
    ("[" * 100_000, "not JSON"),
])
def test_bad_client_events_raise_bad_message_saying_what_is_wrong(raw, says):
    with pytest.raises(protocol.ProtocolError) as caught:
        parse(raw)
    assert caught.value.code == protocol.BAD_MESSAGE
    assert says in caught.value.message


def test_context_at_the_limit_is_accepted():
    assert parse(protocol.hello(None, "x" * LIMIT)).context == "x" * LIMIT


def test_languages_are_normalized_to_qwens_names():
    assert protocol.normalize_language(" chinese ") == "Chinese"
    assert protocol.normalize_language("ENGLISH") == "English"
    assert protocol.normalize_language("") is None
    assert protocol.normalize_language(None) is None


# -- server -> client -----------------------------------------------------------------------------------------


def test_server_messages_round_trip():
    assert protocol.parse_message(protocol.ready("m", "vllm")) == protocol.Ready("m", "vllm", silence=True)
    assert protocol.parse_message(protocol.ready("m", "vllm", silence=False)) == protocol.Ready("m", "vllm")
    assert protocol.parse_message(protocol.partial("a", "he")) == protocol.Partial("a", "he")
    assert protocol.parse_message(protocol.final("a", "你好", "Chinese")) == protocol.Final("a", "你好", "Chinese")
    assert protocol.parse_message(protocol.error(protocol.TOO_LONG, "cut", "a")) == protocol.ServerError(
        "too_long", "cut", "a")
    assert protocol.parse_message(protocol.error(protocol.BAD_MESSAGE, "no")) == protocol.ServerError(
        "bad_message", "no", None)
    assert json.loads(protocol.ready("m", "b")) == {"type": "ready", "protocol": 1, "model": "m", "backend": "b",
                                                    "silence": True}


def test_the_original_servers_messages_parse():
    """The original server sends no id and no language; errors may carry codes this server never sends."""
    assert protocol.parse_message('{"type":"final","text":"old server"}') == protocol.Final(None, "old server")
    assert protocol.parse_message('{"type":"partial","text":"ol"}') == protocol.Partial(None, "ol")
    assert protocol.parse_message('{"type":"final","id":3,"text":""}') == protocol.Final("3", "")
    assert protocol.parse_message('{"type":"error","code":"unauthorized","message":"bad token"}') == (
        protocol.ServerError("unauthorized", "bad token"))
    assert protocol.parse_message('{"type":"error"}') == protocol.ServerError("unknown", "")


@pytest.mark.parametrize("raw", [b"\x00", "not json", "[1]", '{"type":"final"}', '{"type":"partial","text":1}',
                                 '{"type":"nope"}', "{}"])
def test_malformed_server_messages_raise_protocol_error(raw):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_message(raw)


def test_replies_with_a_lone_surrogate_are_sent_escaped():
    """Found by fuzzing: a lone surrogate in an id or transcript made a reply unencodable and closed the socket."""
    for text in (protocol.final("x", "bad \udc80 text", "English"), protocol.hello(None, "\ud800")):
        text.encode("utf-8")  # would raise if the surrogate were left raw
    assert json.loads(protocol.final("x", "bad \udc80 text", "English"))["text"] == "bad \udc80 text"


def test_non_ascii_text_is_sent_as_is():
    assert "你好" in protocol.final("x", "你好", "Chinese")


def test_the_core_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, dictation_core.protocol, dictation_core.joining, dictation_core.config; "
            "print(sorted(m for m in ('numpy', 'torch', 'websockets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_start_carries_an_optional_per_utterance_context():
    from dictation_core import protocol as p

    assert p.parse_event(p.start("u1", "Dear Ms Okonkwo"), max_context_chars=100) == p.Start("u1", "Dear Ms Okonkwo")
    assert p.parse_event(p.start("u1"), max_context_chars=100) == p.Start("u1", None)
    assert "context" not in p.start("u1")  # nothing extra on the wire when there is none
    with pytest.raises(p.ProtocolError, match="start context of 101 characters is over the 100 limit"):
        p.parse_event(p.start("u1", "x" * 101), max_context_chars=100)
    with pytest.raises(p.ProtocolError, match="start context must be a string"):
        p.parse_event('{"event":"start","context":5}', max_context_chars=100)
