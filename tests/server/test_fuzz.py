"""Fuzzing the live server: random messages of every shape over many connections, while a user keeps dictating.

Quick in CI (a few thousand messages); `scripts/soak_server.py --fuzz` sends 20,000+.
"""

from __future__ import annotations

import asyncio
import logging
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dictation_devtools.fuzz.messages import MAX_CONTEXT, MAX_FRAME, random_message
from dictation_devtools.fuzz.session import fuzz_connection, steady_dictation
from dictation_devtools.servers import running_server
from dictation_devtools.stand_in_backends import CostModel, ModelledBackend
from dictation_devtools.ws_client import run

# 80 seeds, 40 hypothesis connections and a storm: about 25 s, so out of the quick loop (docs/testing.md).
pytestmark = pytest.mark.slow


class ErrorLog(logging.Handler):
    """Collects every ERROR (and worse) record the server logs, with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_server():
    errors = ErrorLog()
    logging.getLogger("asr_server").addHandler(errors)
    try:
        with running_server(backend_factory=lambda config: ModelledBackend(CostModel().scaled(0.05)),
                            max_sessions=64, max_frame_bytes=MAX_FRAME, max_context_chars=MAX_CONTEXT,
                            max_utterance_seconds=600,
                            # The oracle owes a final for every stop; the fair-share bound (busy past it) has its
                            # own tests in test_fair_share.py, so here it is out of reach.
                            max_session_backlog=10_000,
                            # Likewise the bad-message and message-rate allowances (test_hardening.py and the
                            # hostile-client suite): the oracle owes an error for every bad message.
                            max_bad_messages_per_second=1_000_000, max_messages_per_second=1_000_000) as server:
            yield server, errors
    finally:
        logging.getLogger("asr_server").removeHandler(errors)


# Seeds rather than hypothesis: a library loaded earlier in the test session (compiled with -ffast-math) sets the
# CPU's flush-to-zero flag, and hypothesis then refuses to run at all. Each seed is one reproducible connection.
@pytest.mark.parametrize("seed", range(80))
def test_every_bad_message_gets_an_error_and_nothing_else_breaks(fuzz_server, seed):
    rng = random.Random(seed)
    count = rng.randrange(1, 30)
    server, errors = fuzz_server
    messages = [random_message(rng) for _ in range(count)]
    received, owed = run(fuzz_connection(server.url, messages))
    assert not received.closed, "bad messages get an error, not a closed connection"
    assert (received.errors, received.finals, received.readies) == (owed.errors, owed.finals, owed.readies), \
        (received, owed, [m[:80] for m in messages])
    assert not errors.records, [r.getMessage() for r in errors.records]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False))
def test_hypothesis_shrinks_any_connection_the_oracle_disagrees_with(fuzz_server, rng):
    server, errors = fuzz_server
    messages = [random_message(rng) for _ in range(rng.randrange(1, 20))]
    received, owed = run(fuzz_connection(server.url, messages))
    assert (received.errors, received.finals, received.readies, received.closed) == \
        (owed.errors, owed.finals, owed.readies, False), [m[:80] for m in messages]
    assert not errors.records, [r.getMessage() for r in errors.records]


def test_well_behaved_user_keeps_getting_finals_during_a_fuzz_storm(fuzz_server):
    server, errors = fuzz_server

    async def storm() -> tuple[int, int, int]:
        user = asyncio.create_task(steady_dictation(server.url, utterances=6))
        rng = random.Random(7)
        sent = 0
        while not user.done():
            batch = [[random_message(rng) for _ in range(rng.randrange(1, 30))] for _ in range(8)]
            results = await asyncio.gather(*(fuzz_connection(server.url, b) for b in batch))
            sent += sum(len(b) for b in batch)
            for got, owed in results:
                assert (got.errors, got.finals, got.readies) == (owed.errors, owed.finals, owed.readies)
        finals, expected = await user
        return finals, expected, sent

    finals, expected, sent = run(storm())
    assert finals == expected == 6, "the well-behaved session got every final"
    assert sent > 200
    assert not errors.records, [r.getMessage() for r in errors.records]
    status, health = server.health()
    assert status == 200 and health["sessions"] == 0, "every fuzz connection was cleaned up"
