"""Protocol v1 messages, without a socket."""

from __future__ import annotations

import json

import pytest

from tray_client.link import protocol


def test_client_messages_have_the_v1_shape():
    assert json.loads(protocol.hello("Chinese", "通义, Qwen")) == {
        "event": "hello", "protocol": 1, "language": "Chinese", "context": "通义, Qwen"}
    assert json.loads(protocol.hello(None, ""))["language"] is None
    assert json.loads(protocol.start("s-1")) == {"event": "start", "id": "s-1"}
    assert json.loads(protocol.stop()) == {"event": "stop"}
    assert json.loads(protocol.cancel()) == {"event": "cancel"}


def test_server_messages_are_parsed_into_types():
    assert protocol.parse('{"type":"ready","protocol":1,"model":"m","backend":"vllm"}') == protocol.Ready("m", "vllm")
    assert protocol.parse('{"type":"partial","id":"a","text":"he"}') == protocol.Partial("a", "he")
    assert protocol.parse('{"type":"final","id":"a","text":"hi","language":"English"}') == protocol.Final(
        "a", "hi", "English")
    assert protocol.parse('{"type":"final","text":"old server"}') == protocol.Final(None, "old server")
    assert protocol.parse('{"type":"error","code":"unauthorized","message":"bad token"}') == protocol.ServerError(
        "unauthorized", "bad token")


@pytest.mark.parametrize("raw", [b"\x00", "not json", "[1]", '{"type":"final"}', '{"type":"nope"}'])
def test_malformed_server_messages_raise_protocol_error(raw):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse(raw)
