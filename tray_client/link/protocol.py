"""Protocol v1, client side, without a socket: the messages we send and the validated messages we receive.

Kept pure so that the link (the network glue) stays thin and every message shape is tested on its own.
See docs in DESIGN.md "Protocol v1".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

PROTOCOL_VERSION = 1
SAMPLE_RATE = 16_000


class ProtocolError(ValueError):
    """The server sent something protocol v1 does not allow; the message quotes it (server and client differ?)."""


def hello(language: str | None, context: str) -> str:
    """The first message of a connection: protocol version, forced language (None = detect) and glossary."""
    return json.dumps({"event": "hello", "protocol": PROTOCOL_VERSION, "language": language, "context": context},
                      ensure_ascii=False)


def start(utterance_id: str) -> str:
    """Open an utterance; its id comes back on every partial and final, so replays can be de-duplicated."""
    return json.dumps({"event": "start", "id": utterance_id})


def stop() -> str:
    """Finalize the open utterance: the server answers with its final."""
    return json.dumps({"event": "stop"})


def cancel() -> str:
    """Discard the open utterance: no final will come."""
    return json.dumps({"event": "cancel"})


@dataclass(frozen=True)
class Ready:
    """The server accepted our hello."""

    model: str = ""
    backend: str = ""


@dataclass(frozen=True)
class Partial:
    """A transcript that may still change."""

    utterance_id: str | None
    text: str


@dataclass(frozen=True)
class Final:
    """The transcript of a finished utterance."""

    utterance_id: str | None
    text: str
    language: str = ""


@dataclass(frozen=True)
class ServerError:
    """The server refused something: `code` is unauthorized, bad_message, too_long, busy or engine."""

    code: str
    message: str
    utterance_id: str | None = None


ServerMessage = Ready | Partial | Final | ServerError


def parse(raw: str | bytes) -> ServerMessage:
    """Validate one server message; raise ProtocolError for anything protocol v1 does not define."""
    if isinstance(raw, bytes):
        raise ProtocolError("the server sent a binary frame; protocol v1 servers only send JSON text")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"not JSON: {raw[:200]!r}") from error
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a JSON object, got {raw[:200]!r}")
    kind = data.get("type")
    utterance_id = data.get("id")
    if utterance_id is not None and not isinstance(utterance_id, str):
        utterance_id = str(utterance_id)
    if kind == "ready":
        return Ready(model=str(data.get("model") or ""), backend=str(data.get("backend") or ""))
    if kind in ("partial", "final"):
        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError(f"{kind} without a text string: {raw[:200]!r}")
        if kind == "partial":
            return Partial(utterance_id, text)
        return Final(utterance_id, text, str(data.get("language") or ""))
    if kind == "error":
        return ServerError(code=str(data.get("code") or "unknown"), message=str(data.get("message") or ""),
                           utterance_id=utterance_id)
    raise ProtocolError(f"unknown message type {kind!r}: {raw[:200]!r}")
