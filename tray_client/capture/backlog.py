"""What to do with microphone audio that waits because the pipeline lags behind the microphone (pure)."""

from __future__ import annotations

from tray_client.capture.source_types import FRAME_S

# The loop can lag behind the microphone (a slow VAD, a busy CPU). Audio is never dropped inside an utterance:
LAG_NOTICE_FRAMES = 100  # ~3 s waiting: the user is told that transcripts come late (nothing is lost)
MAX_BACKLOG_FRAMES = 18_750  # ~10 min (19 MB): the pipeline is stuck; audio outside an utterance is dropped


class Backlog:
    """What to do with microphone audio that waits because the loop lags (pure; MicSource applies it).

    Inside an utterance nothing is ever dropped: the user is told once that transcripts come late. Only past
    MAX_BACKLOG_FRAMES (the pipeline is stuck), and only outside an utterance, does the oldest audio go."""

    def __init__(self, description: str) -> None:
        self._description = description
        self._lagging = False
        self._dropping = False

    def arrived(self, waiting: int, in_utterance: bool) -> tuple[bool, tuple[str, str] | None]:
        """A frame arrives with `waiting` frames queued: (drop the oldest?, (level, message) for the user)."""
        if waiting >= MAX_BACKLOG_FRAMES and not in_utterance:
            told, self._dropping = self._dropping, True
            return True, None if told else ("error", f"the computer has not kept up with {self._description} for "
                                                     f"{waiting * FRAME_S / 60:.0f} min; audio outside speech "
                                                     "is being dropped")
        if waiting >= LAG_NOTICE_FRAMES and not self._lagging:
            self._lagging = True
            return False, ("warning", f"the computer is not keeping up with {self._description}: "
                                      f"{waiting * FRAME_S:.0f} s of audio waiting; nothing is lost, "
                                      "transcripts come late")
        return False, None

    def drained(self) -> tuple[str, str] | None:
        """The queue is empty again: news if it had lagged."""
        if not self._lagging and not self._dropping:
            return None
        self._lagging = self._dropping = False
        return "info", f"caught up with {self._description}"

