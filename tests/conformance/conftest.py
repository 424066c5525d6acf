"""The servers the conformance suite runs against: the real asr_server with each backend the tests use (stand-in
scripted text, the modelled stand-in of the benches and soak, the tiny random-weight checkpoint through transformers, the vllm backend against the fake engine
at vLLM's HTTP API) and every hand-written server the client tests still use (tests/client/protocol_server.py,
for faults the real server never makes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.servers import running_server
from dictation_devtools.stand_in_backends import (
    CostModel,
    KnownPhrase,
    ModelledBackend,
    ScriptedBackend,
    transcript,
)
from tests.client.protocol_server import Faults, ProtocolServer

TOKEN = "conformance-token"
CUT_SECONDS = 3.0  # every server under test cuts utterances here (--max-utterance-seconds)
MAX_CONTEXT = 100


def _noise(seconds: float, seed: int) -> np.ndarray:
    """Loud noise: unique sample runs, so the scripted stand-ins recognise each phrase exactly."""
    return np.random.default_rng(seed).integers(-8000, 8000, round(seconds * 16000)).astype(np.int16)


PHRASES = [KnownPhrase("hello world", _noise(1.2, 1)), KnownPhrase("你好世界", _noise(1.2, 2))]


@dataclass(frozen=True)
class Target:
    """A server under test: where it is, and whether it answers known audio with known words."""

    name: str
    url: str
    knows_text: bool

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def _real(name: str, checkpoint: object = None, **settings: object) -> Iterator[Target]:
    with running_server(checkpoint, token=TOKEN, max_utterance_seconds=CUT_SECONDS, max_context_chars=MAX_CONTEXT,
                        **settings) as server:
        yield Target(name, server.url, knows_text=name == "asr_server-scripted")


@contextlib.contextmanager
def _protocol_server() -> Iterator[Target]:
    faults = Faults(refuse_token=TOKEN, max_utterance_bytes=round(CUT_SECONDS * 16000) * 2)
    with ProtocolServer(lambda utterance_id, audio: transcript(audio, PHRASES), faults,
                        max_context_chars=MAX_CONTEXT) as server:
        yield Target("protocol_server", server.url, knows_text=True)


# The two servers on the random-weight checkpoint decode on the CPU: slow (`pytest -m "not slow"` checks the
# protocol against the other three).
@pytest.fixture(scope="module", params=["asr_server-scripted", "asr_server-modelled",
                                        pytest.param("asr_server-transformers", marks=pytest.mark.slow),
                                        pytest.param("asr_server-fake-engine", marks=pytest.mark.slow),
                                        "protocol_server"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Each server under test in turn, with a token required and utterances cut at CUT_SECONDS."""
    name = request.param
    if name == "protocol_server":
        with _protocol_server() as server:
            yield server
    elif name == "asr_server-scripted":
        with _real(name, backend_factory=lambda config: ScriptedBackend(PHRASES)) as server:
            yield server
    elif name == "asr_server-modelled":  # the benches' and soak's stand-in (placeholder words, no delay here)
        with _real(name, backend_factory=lambda config: ModelledBackend(CostModel().scaled(0))) as server:
            yield server
    else:
        checkpoint = request.getfixturevalue("tiny_checkpoint")
        if name == "asr_server-transformers":
            with _real(name, checkpoint) as server:
                yield server
        else:
            with FakeEngine(checkpoint) as engine, _real(name, checkpoint, backend="vllm",
                                                         engine_url=engine.url) as server:
                yield server
