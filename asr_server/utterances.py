"""A session's bookkeeping around its utterances: which glossary each stream decodes with, and the ids of an
utterance that runs over the length limit. Pure; the asyncio thread only.
"""

from __future__ import annotations

from asr_server.streaming import BYTES_PER_SAMPLE, UtteranceStream
from dictation_core.protocol import SAMPLE_RATE


class Contexts:
    """The context each stream decodes with: the hello's glossary, then its utterance's own (start's "context").

    Every stream of an utterance, continuations included, keeps the utterance's context."""

    def __init__(self) -> None:
        self.session = ""  # the hello's
        self._utterance = ""  # the open utterance's, for the streams it opens
        self._streams: dict[UtteranceStream, str] = {}

    def start(self, context: str) -> None:
        """An utterance starts with `context` (empty: none of its own)."""
        self._utterance = context

    def opened(self, stream: UtteranceStream) -> None:
        """`stream` belongs to the open utterance."""
        if self._utterance:
            self._streams[stream] = self._utterance

    def of(self, stream: UtteranceStream) -> str:
        """The context for a step of `stream`."""
        return "\n\n".join(part for part in (self.session, self._streams.get(stream, "")) if part)

    def forget(self, stream: UtteranceStream) -> None:
        self._streams.pop(stream, None)


class LengthLimit:
    """An utterance over `max_seconds` is finalized and continued as "<id>.2", "<id>.3", ... so no words are lost."""

    def __init__(self, max_seconds: float) -> None:
        self.max_seconds = max_seconds
        self.max_samples = max(1, round(max_seconds * SAMPLE_RATE))
        self._base_id = ""
        self._continuations = 0

    def start(self, utterance_id: str) -> str:
        """A new utterance: its id is the first stream's."""
        self._base_id, self._continuations = utterance_id, 0
        return utterance_id

    def room_bytes(self, stream: UtteranceStream) -> int:
        """How much more PCM `stream` may take (0 or less: it is full)."""
        return (self.max_samples - stream.total_samples) * BYTES_PER_SAMPLE

    def cut_message(self, stream: UtteranceStream) -> str:
        """The too_long error for a full `stream`: what happened to its words."""
        return (f"utterance {stream.utterance_id} is over {self.max_seconds:g} s: sent its final so far, the audio "
                "goes on as a new utterance")

    def next_id(self) -> str:
        """The id of the stream that continues the utterance after a full one."""
        self._continuations += 1
        return f"{self._base_id}.{self._continuations + 1}"
