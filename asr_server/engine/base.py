"""The seam between a session and an engine: what a decode step asks for, what comes back, and the `Engine` protocol.

Two engines implement `Engine`: the in-process batching engine (`scheduler.InferenceWorker`, one inference thread
over a `Backend`) and the HTTP engine (`engine.dispatcher.EngineDispatcher`, vLLM's OpenAI-compatible server). The
server, the sessions and the upload endpoint see only this protocol.

A step's future (`concurrent.futures.Future`, so a result set on the event loop runs its callbacks at once, in
order) ends in one of four ways:

- a `StepOutput`: the decoded text;
- None: the engine skipped the step on purpose (a partial while its queue is deep): the next audio retries;
- a `DecodeFailed` exception: the decode failed (`refused`: the engine refused this very request, so sending it
  again cannot help);
- cancelled, by the caller: nobody waits for it any more, and the engine drops or aborts its work.

Every future is resolved on the event loop thread, never on the inference thread.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)  # a request is itself, not its fields: comparing fields compares numpy audio
class DecodeRequest:
    """One utterance step for the model: the window's audio and how to build its prompt.

    `prefix_raw` is the previous raw output of this window (None: no prefix); the engine rolls back its last
    `rollback_tokens` tokens. `urgent` marks a final (a stopped utterance's step), which goes before partials.
    """

    label: str
    context: str
    language: str | None
    audio: np.ndarray
    prefix_raw: str | None
    rollback_tokens: int
    urgent: bool
    submitted_at: float = field(default_factory=time.monotonic)

    def as_final(self, audio: np.ndarray) -> DecodeRequest:
        """The rule for promoting a step to the final: the same prompt over `audio` (the window with the rest of
        the utterance), urgent, keeping its place in line (`submitted_at`)."""
        return dataclasses.replace(self, audio=audio, urgent=True)


@dataclass(frozen=True)
class StepOutput:
    """The engine's answer for one step: raw model text (prefix included) and its parsed language and text."""

    raw: str
    language: str
    text: str


class DecodeFailed(Exception):
    """A step's decode failed; the message says why. `refused`: the engine refused this request itself (an HTTP
    4xx), so sending it again cannot help."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class EngineInfo:
    """What a loaded engine reports: `ready` and /healthz show it, sessions check languages against it."""

    backend: str
    model: str
    supported_languages: tuple[str, ...]
    # A backend whose finals take seconds (the transformers backend on a CPU) says so in `ready`, so clients wait
    # for them instead of replaying and then giving up on words the server was about to send.
    final_timeout_s: float | None = None


@dataclass(frozen=True)
class EngineStats:
    """Counters for /healthz, logs and benchmarks."""

    steps: int
    items: int
    largest_batch: int
    failed_items: int
    audio_seconds: float


OnLoaded = Callable[[EngineInfo | None, BaseException | None], None]
"""How an engine reports that it loaded (its EngineInfo) or failed to (the error); called on the event loop."""


class Engine(Protocol):
    """What the server, its sessions and its upload endpoint use of an engine (on the event loop only)."""

    def start(self) -> None:
        """Start loading; the engine reports its `EngineInfo` (or the error) through the callback it was given."""

    async def aclose(self) -> None:
        """Stop: work in flight is dropped or aborted."""

    def submit(self, request: DecodeRequest) -> Future[StepOutput | None]:
        """Queue or send `request` at once (never waits for the model); cancel the future to withdraw it."""

    def promote(self, future: Future[StepOutput | None], final: DecodeRequest) -> bool:
        """Turn the step behind `future` into `final` (its `as_final`), so one decode serves as the final; the same
        future then answers for `final`. False when this engine can no longer change that step: the caller waits
        for it and sends the final as a step of its own."""

    @property
    def queued(self) -> int:
        """Steps submitted and not answered yet (/healthz `queued_steps`)."""

    @property
    def waiting(self) -> float:
        """Steps waiting for the model (the `engine waiting` gauge of /metrics)."""

    @property
    def reachable(self) -> bool:
        """True while the engine can decode (False: /healthz says engine_down)."""

    @property
    def stats(self) -> EngineStats:
        """Counters so far."""

    def health(self) -> dict[str, object] | None:
        """The engine's own part of /healthz (None: it has none)."""
