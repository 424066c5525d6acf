"""Streaming state of one utterance, without a model: chunking, the bounded re-feed window, text assembly.

This is the algorithm of `Qwen3ASRModel.streaming_transcribe`, moved out of the model call so that one inference
thread can batch the steps of many utterances into a single `generate([...])`:

- audio arrives as int16 PCM of any length and is cut into steps of whole `chunk_seconds` chunks;
- each step re-feeds the audio of the current *window* (not the whole utterance) to the model;
- after the first `unfixed_chunk_num` steps of a window, the previous raw output minus its last
  `unfixed_token_num` tokens becomes the prompt prefix (the worker does the token rollback, because only the
  inference thread may touch the tokenizer);
- when the window reaches `window_seconds`, its text is committed and a fresh window starts, so the audio fed per
  second of speech stays bounded however long the utterance runs (Qwen3-ASR issue #148);
- within a window, a partial step waits until the new audio is at least 1/`refeed_ratio` of the window, so
  partials re-feed at most `refeed_ratio` seconds of audio per second of speech (every chunk early on, every few
  seconds late in a 20 s window). Only finals are typed, so sparser late partials cost the user nothing.
- at the stop, a tail shorter than `min_tail_samples` (0.5 s) that would spill into a new window is merged into
  the current one instead (which then runs up to 0.5 s over `window_seconds`): alone, a fragment of a word
  is heard without its context and often becomes a spurious word, and 200 samples or fewer are refused by vLLM.

A step that is behind (the model was busy) takes every whole chunk that is waiting at once, so a slow step never
builds a queue of stale partials. Everything here runs on the asyncio thread; nothing blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asr_server.backends.qwen_output import MIN_ASR_INPUT_SECONDS
from asr_server.engine.base import StepOutput
from dictation_core.joining import join_text
from dictation_core.protocol import SAMPLE_RATE

BYTES_PER_SAMPLE = 2


@dataclass(frozen=True)
class StreamSettings:
    """Sizes in samples, derived once from ServerConfig."""

    chunk_samples: int
    window_samples: int
    unfixed_chunk_num: int
    unfixed_token_num: int
    refeed_ratio: float = 4.0
    min_tail_samples: int = round(MIN_ASR_INPUT_SECONDS * SAMPLE_RATE)

    @classmethod
    def from_seconds(cls, chunk_seconds: float, window_seconds: float, unfixed_chunk_num: int,
                     unfixed_token_num: int, refeed_ratio: float = 4.0) -> StreamSettings:
        """Convert the config's seconds to whole samples at 16 kHz (at least one sample each)."""
        chunk = max(1, round(chunk_seconds * SAMPLE_RATE))
        window = max(chunk, round(window_seconds * SAMPLE_RATE))
        return cls(chunk, window, unfixed_chunk_num, unfixed_token_num, refeed_ratio)


@dataclass(frozen=True)
class StepInput:
    """What one decode step of one utterance needs: the window's audio and how to build the prompt prefix.

    `prefix_raw` is the previous raw output of this window (None: no prefix); the worker rolls back its last
    `rollback_tokens` tokens. `is_final` marks the step whose result is the utterance's final transcript.
    """

    audio: np.ndarray
    prefix_raw: str | None
    rollback_tokens: int
    is_final: bool
    urgent: bool


class UtteranceStream:
    """One utterance on its way through the model: audio waiting, the current window, the text so far.

    Call `feed` with PCM, `stop` at the end, and `next_step` whenever no step is in flight; hand the StepInput
    to the scheduler and give its StepOutput back to `apply`. `text` is the whole transcript so far.
    """

    def __init__(self, utterance_id: str, settings: StreamSettings) -> None:
        self.utterance_id = utterance_id
        self.settings = settings
        self._pending = bytearray()
        self._window = np.zeros(0, dtype=np.float32)
        self._window_raw = ""
        self._window_text = ""
        self._window_steps = 0
        self._window_decoded = True  # an empty window needs no decode
        self._committed = ""
        self.language = ""
        self.total_samples = 0
        self.stopped = False
        self.in_flight = False
        self.finished = False

    @property
    def text(self) -> str:
        """Committed windows plus the current window's latest text."""
        return join_text(self._committed, self._window_text)

    @property
    def pending_samples(self) -> int:
        """Audio received but not yet given to a decode step."""
        return len(self._pending) // BYTES_PER_SAMPLE

    def feed(self, pcm: bytes) -> None:
        """Append int16 little-endian mono PCM (an even number of bytes; the session checks)."""
        if self.stopped:
            raise RuntimeError(f"utterance {self.utterance_id} is stopped; start a new one")
        self._pending += pcm
        self.total_samples += len(pcm) // BYTES_PER_SAMPLE

    def stop(self) -> None:
        """No more audio: the next step takes everything left and its result is the final."""
        self.stopped = True

    def final_without_decode(self) -> bool:
        """True when the utterance is stopped and its text is already complete (nothing new to decode)."""
        return self.stopped and not self.in_flight and self.pending_samples == 0 and self._window_decoded

    def next_step(self) -> StepInput | None:
        """The next decode step, or None while a step is in flight or not enough audio has arrived."""
        if self.in_flight or self.finished:
            return None
        waiting = self.pending_samples
        if self.stopped:
            if waiting == 0 and self._window_decoded:
                return None
        elif waiting < self.settings.chunk_samples:
            return None
        small_tail = self.stopped and waiting < self.settings.min_tail_samples
        if len(self._window) >= self.settings.window_samples and not small_tail:
            self._commit_window()
        room = self.settings.window_samples - len(self._window)
        if self.stopped:
            # The whole rest when what would spill into the next window is only a small tail.
            take = waiting if waiting - room < self.settings.min_tail_samples else room
        else:
            take = min(waiting - waiting % self.settings.chunk_samples, room)
            # Partials re-feed the whole window, so late in a long window they wait for more new audio:
            # at most `refeed_ratio` seconds decoded per second of speech, however long the window.
            if take < room and take * self.settings.refeed_ratio < len(self._window) + take:
                return None
        chunk = self._take(take)
        self._window = chunk if len(self._window) == 0 else np.concatenate([self._window, chunk])
        self._window_decoded = False
        is_final = self.stopped and self.pending_samples == 0
        use_prefix = self._window_steps >= self.settings.unfixed_chunk_num and bool(self._window_raw)
        self.in_flight = True
        return StepInput(
            audio=self._window,
            prefix_raw=self._window_raw if use_prefix else None,
            rollback_tokens=self.settings.unfixed_token_num,
            is_final=is_final,
            urgent=self.stopped,
        )

    def speculative_step(self) -> StepInput | None:
        """The final's step as if the utterance stopped now, changing nothing (a speculative final; None when
        there is no audio, the utterance is stopped, or the audio would not fit in the current window)."""
        waiting = self.pending_samples
        if self.stopped or self.finished or len(self._window) + waiting == 0 \
                or len(self._window) + waiting > self.settings.window_samples:
            return None
        tail = np.frombuffer(bytes(self._pending), dtype="<i2").astype(np.float32) / 32768.0
        use_prefix = self._window_steps >= self.settings.unfixed_chunk_num and bool(self._window_raw)
        return StepInput(audio=np.concatenate([self._window, tail]) if waiting else self._window,
                         prefix_raw=self._window_raw if use_prefix else None,
                         rollback_tokens=self.settings.unfixed_token_num, is_final=True, urgent=True)

    def text_with(self, output: StepOutput) -> str:
        """The whole transcript if `output` is the current window's final text."""
        return join_text(self._committed, output.text)

    def extended_window(self) -> np.ndarray | None:
        """For a step still queued when stop arrives: the window with the remaining audio appended, so that step
        can become the final (None if that would overflow the window). Commit it with `extend_in_flight`."""
        if not self.in_flight or not self.stopped:
            return None
        waiting = self.pending_samples
        if len(self._window) + waiting > self.settings.window_samples:
            return None
        if waiting == 0:
            return self._window
        tail = np.frombuffer(bytes(self._pending), dtype="<i2").astype(np.float32) / 32768.0
        return np.concatenate([self._window, tail])

    def extend_in_flight(self, window: np.ndarray) -> None:
        """The queued step now decodes `window` (from `extended_window`): the pending audio is part of it."""
        self._pending.clear()
        self._window = window

    def apply(self, output: StepOutput) -> None:
        """Take a step's result: it becomes the current window's text."""
        self.in_flight = False
        self._window_raw = output.raw
        self._window_text = output.text
        self._window_steps += 1
        self._window_decoded = True
        if output.language:
            self.language = output.language

    def step_failed(self) -> None:
        """A step's decode failed: its audio stays in the window, so the next step re-feeds it."""
        self.in_flight = False

    def _commit_window(self) -> None:
        self._committed = join_text(self._committed, self._window_text)
        self._window = np.zeros(0, dtype=np.float32)
        self._window_raw = ""
        self._window_text = ""
        self._window_steps = 0
        self._window_decoded = True

    def _take(self, samples: int) -> np.ndarray:
        size = samples * BYTES_PER_SAMPLE
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
