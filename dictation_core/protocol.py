"""Protocol v1 without a socket: every message both sides exchange, built and parsed in one place.

The spec is docs/protocol.md. Client -> server messages are "events" (`{"event": ...}`), server -> client
messages are "messages" (`{"type": ...}`). Each has a frozen dataclass, a builder that returns the JSON text to
send, and a parser that validates received text into the dataclass or raises `ProtocolError` saying what a valid
message looks like. The server validates strictly (`parse_event`); the client accepts what the original
(pre-v1) server sends too (`parse_message`: no `id`, no `language`, no `ready`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

PROTOCOL_VERSION = 1
SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2
MAX_ID_CHARS = 128

# Error codes of {"type": "error", "code": ...}. The server sends bad_message, too_long, engine and busy (a final
# it could not queue); "unauthorized" comes from the original protocol, and this server answers it at the HTTP
# handshake instead (401), before a WebSocket exists to carry a message. A client must understand all five.
BAD_MESSAGE = "bad_message"
TOO_LONG = "too_long"
ENGINE = "engine"
UNAUTHORIZED = "unauthorized"
BUSY = "busy"
ERROR_CODES = (BAD_MESSAGE, TOO_LONG, ENGINE, UNAUTHORIZED, BUSY)


class ProtocolError(ValueError):
    """A message breaks protocol v1. `code` is the error code the server answers with (always bad_message for
    what a client sends); `message` says what was wrong and what a valid message looks like."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- client -> server -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    """Session options: the forced language (None = detect) and a glossary placed in the system prompt."""

    language: str | None
    context: str | None


@dataclass(frozen=True)
class Start:
    """Open an utterance; `utterance_id` None means the server assigns one. `context` (optional, None when
    absent) is background text for this utterance only, e.g. the text around the caret in the focused app; the
    server puts it into the prompt after the hello's glossary. A server that predates it ignores it."""

    utterance_id: str | None
    context: str | None = None


@dataclass(frozen=True)
class Stop:
    """Finalize the open utterance: exactly one final (or one engine error) answers it."""


@dataclass(frozen=True)
class Cancel:
    """Discard the open utterance: no final is sent for it."""


@dataclass(frozen=True)
class Silence:
    """The client has heard `ms` of silence at the end of the audio it sent for the open utterance, and sends no
    more audio unless speech resumes. The server may start the final's decode now (a speculative final): a
    `stop` with no audio in between then gets that final at once. Optional: clients that never send it get
    exactly the same answers."""

    ms: int


ClientEvent = Hello | Start | Stop | Cancel | Silence

MAX_SILENCE_MS = 60_000


def hello(language: str | None, context: str) -> str:
    """The first message of a connection: protocol version, forced language (None = detect) and glossary."""
    return _dump({"event": "hello", "protocol": PROTOCOL_VERSION, "language": language, "context": context})


def start(utterance_id: str, context: str = "") -> str:
    """Open an utterance; its id comes back on every partial and final, so replays can be de-duplicated.
    `context`, when not empty, is this utterance's own background text (see Start)."""
    if context:
        return _dump({"event": "start", "id": utterance_id, "context": context})
    return _dump({"event": "start", "id": utterance_id})


def stop() -> str:
    """Finalize the open utterance: the server answers with its final."""
    return _dump({"event": "stop"})


def cancel() -> str:
    """Discard the open utterance: no final will come."""
    return _dump({"event": "cancel"})


def silence(ms: int) -> str:
    """The client heard `ms` of silence inside the open utterance (see Silence)."""
    return _dump({"event": "silence", "ms": ms})


def parse_event(raw: str, *, max_context_chars: int) -> ClientEvent:
    """Validate one client text message; raise ProtocolError(bad_message) saying what a valid one looks like."""
    data = _load(raw, "event", 'send a JSON object such as {"event":"start"}')
    event = data.get("event")
    if event == "start":
        return Start(_utterance_id(data.get("id")), _start_context(data.get("context"), max_context_chars))
    if event == "stop":
        return Stop()
    if event == "cancel":
        return Cancel()
    if event == "hello":
        return _hello(data, max_context_chars)
    if event == "silence":
        ms = data.get("ms")
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_SILENCE_MS:
            raise ProtocolError(BAD_MESSAGE, f"silence ms {ms!r}: use a whole number of milliseconds from 0 to "
                                f"{MAX_SILENCE_MS}")
        return Silence(ms)
    raise ProtocolError(BAD_MESSAGE, f"unknown event {event!r}: use hello, start, stop, cancel or silence")


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
        # break the client's log or even the UTF-8 encoding of the server's replies.
        raise ProtocolError(BAD_MESSAGE, f"start id {text!r} has control or unpaired surrogate characters: "
                            "use printable text")
    return text


def _start_context(value: object, max_context_chars: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(BAD_MESSAGE, "start context must be a string (text from the app you dictate into)")
    if len(value) > max_context_chars:
        raise ProtocolError(BAD_MESSAGE, f"start context of {len(value)} characters is over the "
                            f"{max_context_chars} limit: send the text nearest the caret only")
    return value


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


# -- server -> client -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The answer to hello: the session options are in effect."""

    model: str = ""
    backend: str = ""
    silence: bool = False  # the server takes the `silence` event (older servers never say so)
    # How long this server may take to send a final after `stop`, in seconds, when that is longer than a GPU's
    # fraction of a second (a CPU server: many seconds). None: the server does not say (the client's own wait).
    final_timeout_s: float | None = None


@dataclass(frozen=True)
class Partial:
    """A transcript of the open utterance that may still change."""

    utterance_id: str | None
    text: str


@dataclass(frozen=True)
class Final:
    """The transcript of a stopped utterance (sent for every stop, even when empty)."""

    utterance_id: str | None
    text: str
    language: str = ""


@dataclass(frozen=True)
class ServerError:
    """Something the client sent or asked for failed; `code` is one of ERROR_CODES. The session goes on."""

    code: str
    message: str
    utterance_id: str | None = None


ServerMessage = Ready | Partial | Final | ServerError


MAX_FINAL_TIMEOUT_S = 600.0
"""The longest final wait a server may ask a client for: past it a client would hold an utterance for nothing."""


def ready(model: str, backend: str, *, silence: bool = True, final_timeout_s: float | None = None) -> str:
    """The answer to hello: the session options are in effect, whether the `silence` event is understood (a client
    sends it only to a server that says so: an older server would read it as a bad message), and, for a slow
    server, how long a final may take (a client waits at least that long before it replays an utterance)."""
    body: dict[str, object] = {"type": "ready", "protocol": PROTOCOL_VERSION, "model": model, "backend": backend,
                               "silence": silence}
    if final_timeout_s is not None:
        body["final_timeout_s"] = final_timeout_s
    return _dump(body)


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


def _final_timeout(value: object) -> float | None:
    """A server's final wait, if it is a sane number of seconds; anything else is ignored, never an error (the
    hint only makes a client wait longer, so a hostile server gains nothing beyond MAX_FINAL_TIMEOUT_S)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        return None
    return min(float(value), MAX_FINAL_TIMEOUT_S)


def parse_message(raw: str | bytes) -> ServerMessage:
    """Validate one server message; raise ProtocolError for anything protocol v1 does not define.

    Lenient where the original server differs: `id` and `language` may be missing, a numeric id is read as text.
    """
    if isinstance(raw, bytes):
        raise ProtocolError(BAD_MESSAGE, "the server sent a binary frame; protocol v1 servers only send JSON text")
    data = _load(raw, "type", "protocol v1 servers send JSON objects with a \"type\"")
    kind = data.get("type")
    utterance_id = data.get("id")
    if utterance_id is not None and not isinstance(utterance_id, str):
        utterance_id = str(utterance_id)
    if kind == "ready":
        return Ready(model=str(data.get("model") or ""), backend=str(data.get("backend") or ""),
                     silence=data.get("silence") is True, final_timeout_s=_final_timeout(data.get("final_timeout_s")))
    if kind in ("partial", "final"):
        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError(BAD_MESSAGE, f"{kind} without a text string: {_quote(raw)}")
        if kind == "partial":
            return Partial(utterance_id, text)
        return Final(utterance_id, text, str(data.get("language") or ""))
    if kind == "error":
        return ServerError(code=str(data.get("code") or "unknown"), message=str(data.get("message") or ""),
                           utterance_id=utterance_id)
    raise ProtocolError(BAD_MESSAGE, f"unknown message type {kind!r}: {_quote(raw)}")


# -- JSON -----------------------------------------------------------------------------------------------------


# No message of protocol v1 needs more: a number of 5,000 digits escaped the parser as a ValueError (Python's
# int-from-text limit) and closed the connection with a traceback; deep nesting costs the parser's stack.
MAX_NUMBER_CHARS = 32
MAX_NESTING = 8


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ProtocolError(BAD_MESSAGE, f"a number of {len(text)} digits: protocol v1 numbers have at most "
                            f"{MAX_NUMBER_CHARS}")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ProtocolError(BAD_MESSAGE, f"a number of {len(text)} characters: protocol v1 numbers have at most "
                            f"{MAX_NUMBER_CHARS}")
    return float(text)


def _no_constant(text: str) -> float:
    raise ProtocolError(BAD_MESSAGE, f"{text} is not JSON: send numbers as digits")


def _depth(value: object, limit: int) -> int:
    """How deeply `value` nests, counting stops past `limit`."""
    if limit < 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _load(raw: str, key: str, hint: str) -> dict[str, object]:
    """One JSON object, numbers and nesting bounded; every way it can fail is a ProtocolError(bad_message)."""
    try:
        data = json.loads(raw, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise ProtocolError(BAD_MESSAGE, f"not JSON ({_quote(raw)}): {hint}") from error
    if not isinstance(data, dict):
        raise ProtocolError(BAD_MESSAGE, f"expected a JSON object with an {key!r} key, got {_quote(raw)}")
    if _depth(data, MAX_NESTING) > MAX_NESTING:
        raise ProtocolError(BAD_MESSAGE, f"JSON nested over {MAX_NESTING} levels: protocol v1 messages are flat "
                            "objects")
    return data


def _quote(raw: str) -> str:
    return repr(raw[:80]) + ("..." if len(raw) > 80 else "")


def _dump(message: dict[str, object]) -> str:
    text = json.dumps(message, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the model or a client: send it escaped, never fail
        return json.dumps(message, ensure_ascii=True)
    return text
