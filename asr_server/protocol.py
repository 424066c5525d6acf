"""Protocol v1, server side, without a socket: typed client events in, JSON server messages out.

Protocol v1 is a superset of the original server's: a client that only sends `{"event":"start"}`, PCM and
`{"event":"stop"}` gets the same `partial`/`final` messages as before (now with an `id` field it can ignore).
The server sends no message types beyond those in DESIGN.md, because strict clients reject unknown types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from asr_server.errors import ProtocolError

PROTOCOL_VERSION = 1
SAMPLE_RATE = 16_000
MAX_ID_CHARS = 128

# Error codes sent in {"type": "error", "code": ...}. DESIGN.md also names "unauthorized" and "busy"; this server
# answers those at the HTTP handshake instead (401 and 503), before a WebSocket exists to carry a message.
BAD_MESSAGE = "bad_message"
TOO_LONG = "too_long"
ENGINE = "engine"


@dataclass(frozen=True)
class Hello:
    """Session options: the forced language (None = detect) and a glossary placed in the system prompt."""

    language: str | None
    context: str | None


@dataclass(frozen=True)
class Start:
    """Open an utterance; `utterance_id` None means the server assigns one."""

    utterance_id: str | None


@dataclass(frozen=True)
class Stop:
    """Finalize the open utterance."""


@dataclass(frozen=True)
class Cancel:
    """Discard the open utterance: no final is sent for it."""


ClientEvent = Hello | Start | Stop | Cancel


def parse_event(raw: str, *, max_context_chars: int) -> ClientEvent:
    """Validate one client text message; raise ProtocolError(bad_message) saying what a valid one looks like."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError(BAD_MESSAGE, f"not JSON ({_quote(raw)}): send a JSON object such as "
                            '{"event":"start"}') from error
    if not isinstance(data, dict):
        raise ProtocolError(BAD_MESSAGE, f"expected a JSON object with an \"event\" key, got {_quote(raw)}")
    event = data.get("event")
    if event == "start":
        return Start(_utterance_id(data.get("id")))
    if event == "stop":
        return Stop()
    if event == "cancel":
        return Cancel()
    if event == "hello":
        return _hello(data, max_context_chars)
    raise ProtocolError(BAD_MESSAGE, f"unknown event {event!r}: use hello, start, stop or cancel")


def _utterance_id(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError(BAD_MESSAGE, f"start id {value!r}: use a string (or leave it out)")
    text = str(value)
    if not text or len(text) > MAX_ID_CHARS:
        raise ProtocolError(BAD_MESSAGE, f"start id of {len(text)} characters: use 1 to {MAX_ID_CHARS}")
    if not text.isprintable():
        # The id comes back in every partial and final: control characters or lone surrogates there could
        # break the client's log or even the UTF-8 encoding of our own replies.
        raise ProtocolError(BAD_MESSAGE, f"start id {text!r} has control or unpaired surrogate characters: "
                            "use printable text")
    return text


def _hello(data: dict[str, object], max_context_chars: int) -> Hello:
    version = data.get("protocol", PROTOCOL_VERSION)
    if isinstance(version, bool) or version != PROTOCOL_VERSION:
        raise ProtocolError(BAD_MESSAGE, f"hello protocol {version!r}: this server speaks protocol "
                            f"{PROTOCOL_VERSION}; update the client")
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        raise ProtocolError(BAD_MESSAGE, f"hello language {language!r}: use a name such as \"Chinese\" or null")
    context = data.get("context")
    if context is not None and not isinstance(context, str):
        raise ProtocolError(BAD_MESSAGE, "hello context must be a string (a glossary of names and terms)")
    if context is not None and len(context) > max_context_chars:
        raise ProtocolError(BAD_MESSAGE, f"hello context of {len(context)} characters is over the "
                            f"{max_context_chars} limit: shorten the glossary")
    return Hello(normalize_language(language), context)


def normalize_language(language: str | None) -> str | None:
    """'chinese' -> 'Chinese' (Qwen3-ASR's canonical form); '' and None mean "detect"."""
    if language is None or not language.strip():
        return None
    text = language.strip()
    return text[:1].upper() + text[1:].lower()


def _quote(raw: str) -> str:
    return repr(raw[:80]) + ("..." if len(raw) > 80 else "")


def _dump(message: dict[str, object]) -> str:
    text = json.dumps(message, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the model or the client: send it escaped, never fail
        return json.dumps(message, ensure_ascii=True)
    return text


def ready(model: str, backend: str) -> str:
    """The answer to hello: the session options are in effect."""
    return _dump({"type": "ready", "protocol": PROTOCOL_VERSION, "model": model, "backend": backend})


def partial(utterance_id: str, text: str) -> str:
    """A transcript of the open utterance that may still change."""
    return _dump({"type": "partial", "id": utterance_id, "text": text})


def final(utterance_id: str, text: str, language: str) -> str:
    """The transcript of a stopped utterance (sent for every stop, even when empty)."""
    return _dump({"type": "final", "id": utterance_id, "text": text, "language": language})


def error(code: str, message: str, utterance_id: str | None = None) -> str:
    """Something the client sent or asked for failed; the session goes on."""
    body: dict[str, object] = {"type": "error", "code": code, "message": message}
    if utterance_id is not None:
        body["id"] = utterance_id
    return _dump(body)
