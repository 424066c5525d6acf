"""A session's `error` messages: each one counted and logged; a flood of bad messages answered at a bounded rate.

One client sending bad messages as fast as it can would otherwise get an answer and a log line for each. An error
that carries an utterance id stands for a final (or says one is coming) and is always sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from asr_server.log_limit import PerSecond, ThrottledLog
from asr_server.metrics import SessionMeter
from dictation_core import protocol

log = logging.getLogger("asr_server.session")


class ErrorReplies:
    """`send(code, message, utterance_id)` answers session `number`'s client with an error, within its allowance."""

    def __init__(self, number: int, send: Callable[[str], None], meter: SessionMeter, per_second: int) -> None:
        self._number = number
        self._send = send
        self._meter = meter
        self._bad_log = ThrottledLog(log)
        self._bad_answers = PerSecond(per_second)

    def send(self, code: str, message: str, utterance_id: str | None = None) -> None:
        self._meter.error(code)
        if code == protocol.BAD_MESSAGE and utterance_id is None:
            self._bad_log.note("session %d: %s: %s", self._number, code, message)
            if not self._bad_answers.allow():
                return
        else:
            log.info("session %d: %s: %s", self._number, code, message)
        self._send(protocol.error(code, message, utterance_id))

    def backoff_seconds(self) -> float:
        """How long to stop reading this client: the rest of the second once it used up its bad-message
        allowance (a flood of bad messages otherwise takes the event loop's time from every other session)."""
        return self._bad_answers.wait()
