"""Speculative finals: the final's decode started inside the end-of-speech silence, before `stop`.

The client says it heard some silence (`{"event":"silence","ms":E}`) and that it sends no more audio unless speech
resumes. The session then decodes the utterance as if it had stopped, at the final's priority. Three endings:

- `stop` with no audio since: the guess is the final. Already decoded, it goes out at once; still decoding, it
  goes out when it is (and no second final decode is sent);
- audio arrives (speech resumed): the guess is dropped, its request aborted;
- the guess fails: nothing is lost, `stop` takes the ordinary path.

The decode the user waits for after the end of speech then runs during the silence the client counts anyway.
Pure bookkeeping on the asyncio thread; the session gives it the ways to send, abort and finish.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from asr_server.scheduler import DecodeJob
from asr_server.streaming import StepOutput, UtteranceStream


@dataclass(eq=False)
class _Guess:
    number: int
    job: DecodeJob
    samples: int  # the utterance's length when the guess was sent
    output: StepOutput | None = None
    adopted: bool = False  # stop came with no audio since: this guess is the final


class SpeculativeFinals:
    """One session's guesses, at most one per utterance."""

    def __init__(self, offer: Callable[[DecodeJob], bool], withdraw: Callable[[DecodeJob], None],
                 answered: Callable[[DecodeJob], None],
                 finish: Callable[[UtteranceStream, StepOutput], None],
                 fall_back: Callable[[UtteranceStream], None]) -> None:
        self._offer = offer
        self._withdraw = withdraw
        self._answered = answered
        self._finish = finish
        self._fall_back = fall_back
        self._guesses: dict[UtteranceStream, _Guess] = {}
        self._numbers = itertools.count(1)
        self.started = 0
        self.used = 0

    def start(self, stream: UtteranceStream, make_job: Callable[[Callable[..., None]], DecodeJob | None]) -> None:
        """Send a guess for `stream` unless one for exactly this audio is out already."""
        guess = self._guesses.get(stream)
        if guess is not None and guess.samples == stream.total_samples:
            return
        self.drop(stream)
        number = next(self._numbers)
        job = make_job(lambda output, error, number=number: self._done(stream, number, output))
        if job is None:
            return
        guess = _Guess(number, job, stream.total_samples)
        self._guesses[stream] = guess
        if not self._offer(job):
            del self._guesses[stream]
            return
        self.started += 1

    def stop(self, stream: UtteranceStream) -> bool:
        """`stream` stopped: True if its guess is (or will be) the final; False to take the ordinary path."""
        guess = self._guesses.get(stream)
        if guess is None or guess.samples != stream.total_samples:
            self.drop(stream)
            return False
        self.used += 1
        if guess.output is not None:
            del self._guesses[stream]
            self._finish(stream, guess.output)
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
            self._withdraw(guess.job)

    def _done(self, stream: UtteranceStream, number: int, output: StepOutput | None) -> None:
        guess = self._guesses.get(stream)
        if guess is None or guess.number != number:
            return  # dropped meanwhile
        self._answered(guess.job)
        if stream.finished:
            del self._guesses[stream]
            return
        if output is None:  # failed or skipped: stop takes the ordinary path
            del self._guesses[stream]
            if guess.adopted:
                self._fall_back(stream)
            return
        if guess.adopted:
            del self._guesses[stream]
            self._finish(stream, output)
        else:
            guess.output = output
