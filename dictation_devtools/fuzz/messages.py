"""Random client messages of every shape, and an oracle that says how a protocol v1 server must answer them.

One generator serves the hypothesis test (driven by `st.randoms()`, so failures shrink) and the long fuzz run in
`scripts/soak_server.py` (driven by `random.Random`). The oracle tracks one connection's state (is an utterance
open?) and counts the `error`, `final` and `ready` messages the server owes for what was sent.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from dictation_core import protocol

MAX_FRAME = 65536
MAX_CONTEXT = 200
LANGUAGES = ("Chinese", "English")

_EVENTS = ("start", "stop", "cancel", "hello", "START", "", "audio", "partial", None, 1, True, [], {})
_ODD_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 2**63, 1.5, float("inf"), "", "x", "\u0000", "你好",
                                [], {}, [1, "a"], {"k": None})


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice(_ODD_VALUES)
    if kind == 1:
        return rng.randint(-(2**40), 2**40)
    if kind == 2:
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 32), rng.randrange(0x4E00, 0x9FFF),
                                       rng.randrange(0xD800, 0xDFFF)])) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.randrange(1, 10**6) / 997 * 10.0 ** rng.randrange(-5, 40)
    if kind in (4, 5):
        return {rng.choice(["event", "id", "language", "context", "protocol", "text", "x"]): _random_json(rng, depth + 1)
                for _ in range(rng.randrange(5))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]


def random_message(rng: random.Random) -> str | bytes:
    """One message a buggy or hostile client might send (about a third of them valid)."""
    roll = rng.randrange(1000) / 1000  # integer draws only: hypothesis' float draws refuse to run under FTZ
    if roll < 0.12:
        return rng.choice(['{"event":"start"}', '{"event":"stop"}', '{"event":"cancel"}'])
    if roll < 0.2:
        return json.dumps({"event": "start", "id": rng.choice(["a", "b", "1", 7, "x" * rng.randrange(1, 200),
                                                              "\udaec", "a\nb", "语音"])})
    if roll < 0.28:
        return json.dumps({"event": "hello", "protocol": rng.choice([1, 1, 2, "1", None]),
                           "language": rng.choice([None, "chinese", "English", "Klingon", 5, ""]),
                           "context": rng.choice([None, "术语", "x" * rng.randrange(0, 400), 3])})
    if roll < 0.45:
        size = rng.choice([0, 1, 2, 1023, 1024, 3200, MAX_FRAME - 1, MAX_FRAME, MAX_FRAME + 2, 100_001])
        return bytes(rng.getrandbits(8) for _ in range(min(size, 64))) * (size // 64) + bytes(size % 64)
    if roll < 0.6:
        message = _random_json(rng)
        if isinstance(message, dict) and rng.randrange(10) < 7:
            message["event"] = rng.choice(_EVENTS)
        return json.dumps(message, allow_nan=True)
    if roll < 0.75:
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 300)))
        return raw.decode("utf-8", "ignore") or "\x00"
    if roll < 0.8:
        return "[" * rng.randrange(1, 50000)
    return json.dumps(_random_json(rng))


@dataclass
class Owed:
    """Messages the server owes one connection."""

    errors: int = 0
    finals: int = 0
    readies: int = 0


class Oracle:
    """Protocol v1's rules for one connection: what each message sent makes the server owe.

    Whether a text message is a valid event is decided by the one parser both programs use
    (dictation_core.protocol.parse_event, unit-tested against the spec in tests/core); the oracle adds the
    connection's state (is an utterance open?) and the session rules of docs/protocol.md on top."""

    def __init__(self) -> None:
        self.open = False
        self.owed = Owed()

    def send(self, message: str | bytes) -> None:
        """Account for one message sent."""
        if isinstance(message, bytes):
            if len(message) > MAX_FRAME or len(message) % 2 or not self.open:
                self.owed.errors += 1
            return
        try:
            event = protocol.parse_event(message, max_context_chars=MAX_CONTEXT)
        except protocol.ProtocolError:
            self.owed.errors += 1
            return
        if isinstance(event, protocol.Start):
            if self.open:  # the open one is stopped (final) with an error saying so
                self.owed.errors += 1
                self.owed.finals += 1
            self.open = True
        elif isinstance(event, protocol.Stop | protocol.Cancel):
            if not self.open:
                self.owed.errors += 1
            elif isinstance(event, protocol.Stop):
                self.owed.finals += 1
            self.open = False
        elif event.language is None or event.language in LANGUAGES:
            self.owed.readies += 1
        else:  # a language the model does not support
            self.owed.errors += 1
