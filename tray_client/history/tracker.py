"""Pure: pair each final with the end of its speech, to know what to record and the latency the user felt.

The pipeline emits `SpeechSegment` the moment an utterance closes (after the silence that confirmed its end)
and `FinalText` once its text has been output. Stamped with a monotonic clock on arrival, the two give
end of speech -> typed = final_at - (segment_at - silence), split into the silence wait, the server and typing.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from tray_client.events import FinalText, SpeechSegment
from tray_client.history.store import HistoryEntry

__all__ = ["MAX_OPEN", "UtteranceTracker"]

MAX_OPEN = 256
"""Segments waiting for their final that are remembered; older ones are forgotten (their final never came)."""


@dataclass(frozen=True)
class _Ended:
    at: float  # monotonic, when the segment event arrived
    segment: SpeechSegment


class UtteranceTracker:
    """Remembers closed utterances until their final; `final()` makes the history row."""

    def __init__(self, *, real_time: bool = True) -> None:
        self._ended: OrderedDict[str, _Ended] = OrderedDict()
        self._real_time = real_time  # a file fed with --fast has no end-of-speech moment in real time

    def segment(self, event: SpeechSegment, at: float) -> None:
        """An utterance closed at monotonic time `at`."""
        self._ended[event.utterance_id] = _Ended(at, event)
        while len(self._ended) > MAX_OPEN:
            self._ended.popitem(last=False)

    def final(self, event: FinalText, at: float, wall: float, output: str) -> HistoryEntry:
        """The row for a final output at monotonic `at` (Unix time `wall`), into the app it went to."""
        # A continuation of a cut utterance ("X.2") belongs to the segment of "X".
        base = event.utterance_id.split(".", 1)[0]
        ended = self._ended.get(event.utterance_id) or self._ended.get(base)  # kept: "X.2" may follow "X"
        audio_s = latency = silence = server = None
        if ended is not None:
            segment = ended.segment
            audio_s = max(0.0, segment.end_s - segment.onset_s + segment.preroll_s)
            if self._real_time:
                silence = max(0.0, segment.end_s - segment.speech_end_s)
                latency = at - (ended.at - silence)
                server = max(0.0, latency - silence - event.typing_s)
        return HistoryEntry(
            time=wall, text=event.text, raw=event.raw or event.text, language=event.language,
            audio_s=round(audio_s or 0.0, 3), latency_s=_ms(latency), silence_s=_ms(silence), server_s=_ms(server),
            typing_s=_ms(event.typing_s) if latency is not None else None, target_app=event.app, output=output,
            utterance_id=event.utterance_id,
        )


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
