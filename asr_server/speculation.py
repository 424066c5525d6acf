"""Speculative finals: the final's decode started inside the end-of-speech silence, before `stop`.

The client says it heard some silence (`{"event":"silence","ms":E}`) and that it sends no more audio unless speech
resumes. The session then decodes the utterance as if it had stopped, at the final's priority. Three endings:

- `stop` with no audio since: the guess is the final. Already decoded, it goes out at once; still decoding, it
  goes out when it is (and no second final decode is sent);
- audio arrives (speech resumed): the guess is dropped, its request aborted;
- the guess fails: nothing is lost, `stop` takes the ordinary path.

The decode the user waits for after the end of speech then runs during the silence the client counts anyway.
Pure bookkeeping on the asyncio thread: it sends through the session's quota, aborts by cancelling a guess's
future, and hands the session each final it decided.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from asr_server.engine.base import DecodeRequest, StepOutput
from asr_server.fair_share import StepQuota
from asr_server.streaming import UtteranceStream


@dataclass(eq=False)
class _Guess:
    future: Future[StepOutput | None]
    samples: int  # the utterance's length when the guess was sent
    output: StepOutput | None = None
    adopted: bool = False  # stop came with no audio since: this guess is the final


class SpeculativeFinals:
    """One session's guesses, at most one per utterance, sent through the session's `quota`.

    `settled(stream, output)` runs once for each guess that became the final: `output` is the final's text, or None
    when the guess failed and the stop takes the ordinary path."""

    def __init__(self, quota: StepQuota,
                 settled: Callable[[UtteranceStream, StepOutput | None], None]) -> None:
        self._quota = quota
        self._settled = settled
        self._guesses: dict[UtteranceStream, _Guess] = {}
        self.started = 0
        self.used = 0

    def start(self, stream: UtteranceStream, request: DecodeRequest) -> None:
        """Send `request` as the guess for `stream` unless one for exactly this audio is out already."""
        guess = self._guesses.get(stream)
        if guess is not None and guess.samples == stream.total_samples:
            return
        self.drop(stream)
        future = self._quota.offer(request)
        if future is None:
            return
        self._guesses[stream] = _Guess(future, stream.total_samples)
        self.started += 1
        future.add_done_callback(lambda answer: self._done(stream, answer))

    def stop(self, stream: UtteranceStream) -> bool:
        """`stream` stopped: True if its guess is (or will be) the final; False to take the ordinary path."""
        guess = self._guesses.get(stream)
        if guess is None or guess.samples != stream.total_samples:
            self.drop(stream)
            return False
        self.used += 1
        if guess.output is not None:
            del self._guesses[stream]
            self._settled(stream, guess.output)
        else:
            guess.adopted = True
        return True

    def waiting_for(self, stream: UtteranceStream) -> bool:
        """The final of `stream` is a guess still decoding: send no other final step for it."""
        guess = self._guesses.get(stream)
        return guess is not None and guess.adopted

    def drop(self, stream: UtteranceStream) -> None:
        """Speech resumed, the utterance was cancelled or the connection closed: forget the guess."""
        guess = self._guesses.pop(stream, None)
        if guess is not None and guess.output is None:
            guess.future.cancel()  # aborts its request at the engine

    def _done(self, stream: UtteranceStream, answer: Future[StepOutput | None]) -> None:
        guess = self._guesses.get(stream)
        if guess is None or guess.future is not answer:
            return  # dropped meanwhile
        if stream.finished:
            del self._guesses[stream]
            return
        output = answer.result() if answer.exception() is None else None
        if output is None:  # failed or skipped: stop takes the ordinary path
            del self._guesses[stream]
            if guess.adopted:
                self._settled(stream, None)
            return
        if guess.adopted:
            del self._guesses[stream]
            self._settled(stream, output)
        else:
            guess.output = output
