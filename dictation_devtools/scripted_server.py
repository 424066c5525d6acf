"""The real asr_server with the scripted stand-in backend, for client tests: known phrases in, their text out.

It replaces hand-written protocol servers wherever no fault is needed. The client tests feed a WAV as the mic and 16 kHz int16 audio reaches the server unchanged, so
`ScriptedBackend` recognises each phrase by exact sample snippets: no model, no guessing. Everything above the
backend is the real server, so a token refusal is the real HTTP 401 and finals follow the real protocol.
Finals can be delayed (to see "transcribing", or to Quit while one is due) or held until the test ends.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from dictation_devtools.servers import running_server
from dictation_devtools.speech import SpeechSample
from dictation_devtools.stand_in_backends import CostModel, KnownPhrase, ScriptedBackend

__all__ = ["KnownPhrase", "ScriptedServer"]

NEVER = float("inf")


@dataclass
class ServerLog:
    """What the server saw of the connections: how many opened and how many the client closed properly."""

    connections: int = 0
    clean_closes: int = 0

    @property
    def abrupt_closes(self) -> int:
        """Connections that ended without the client's close frame (killed, or quit without closing)."""
        return self.connections - self.clean_closes


class _ConnectionEvents(logging.Handler):
    """Counts websockets' own debug lines for opened connections and close frames received."""

    def __init__(self, log: ServerLog) -> None:
        super().__init__(logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message == "= connection is OPEN":
            self.log.connections += 1
        elif message.startswith("< CLOSE"):
            self.log.clean_closes += 1


class ScriptedServer:
    """`with ScriptedServer(phrases, final_delay_s=..., token=..., port=...) as server: server.url`.

    `final_delay_s` delays every decode step by that long (NEVER: until the server stops)."""

    def __init__(self, phrases: Iterable[KnownPhrase], *, final_delay_s: float = 0.0, token: str | None = None,
                 port: int = 0, heed_glossary: bool = False) -> None:
        """`heed_glossary`: words are spelled as the client's glossary spells them (stand_in_backends.
        glossary_spelling), so a test sees a glossary change in what is typed."""
        self.log = ServerLog()
        self._release = threading.Event()
        held = final_delay_s == NEVER
        cost = CostModel(final_delay_s, 0.0, 0.0, 0.0) if final_delay_s and not held else None
        self._backend = ScriptedBackend(list(phrases), cost, hold=self._release if held else None,
                                        heed_glossary=heed_glossary)
        self._settings = {"token": token, "port": port}
        self._stack = contextlib.ExitStack()
        self.url = ""

    @classmethod
    def for_sample(cls, sample: SpeechSample, texts: list[str] | None = None, **options: object) -> ScriptedServer:
        """A server that knows every phrase of a speech fixture (answered with `texts`, if given, instead)."""
        texts = texts or [phrase.text for phrase in sample.phrases]
        phrases = [KnownPhrase(text, sample.phrase_audio(index)) for index, text in enumerate(texts)]
        return cls(phrases, **options)  # type: ignore[arg-type]

    def __enter__(self) -> ScriptedServer:
        logger = logging.getLogger("asr_server.websockets")
        handler = _ConnectionEvents(self.log)
        previous = logger.level
        logger.setLevel(logging.DEBUG)  # websockets decides per connection whether to log frames
        logger.addHandler(handler)
        self._stack.callback(logger.setLevel, previous)
        self._stack.callback(logger.removeHandler, handler)
        server = self._stack.enter_context(running_server(backend_factory=lambda config: self._backend,
                                                          **self._settings))
        self._stack.callback(self._release.set)  # runs first: a held decode ends before the server stops
        self.url = server.url
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
