"""Pure: what the live preview overlay shows at a given moment, from the pipeline's events.

The overlay shows the partial text while you speak, the final when it comes (with the end-of-speech -> typed
time), then fades. It also says what the client is doing (listening, hearing you, transcribing) and when
something is wrong (server unreachable, an error to fix). Times are monotonic seconds passed in by the driver,
so the rules are tested without a display or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from tray_client.events import ClientState
from tray_client.ui.tray.menu import latency_label

__all__ = ["ERROR_HOLD_S", "FADE_S", "FINAL_HOLD_S", "OverlayModel", "OverlayView"]

FINAL_HOLD_S = 1.5
"""The final stays this long after it was typed, then fades."""
FADE_S = 0.4
ERROR_HOLD_S = 4.0
"""A problem (server unreachable, error) is shown this long when it starts; the tray icon keeps showing it."""
LISTENING_HOLD_S = 1.0
""""Listening" is shown this long when listening starts, so the user sees the mic is open."""
MAX_TEXT_CHARS = 160
"""The overlay keeps the newest words of a long utterance (two lines at most at the usual width)."""

_STATUS = {
    ClientState.OFF: "Off",
    ClientState.LISTENING: "Listening",
    ClientState.SPEECH: "Hearing you",
    ClientState.TRANSCRIBING: "Transcribing…",
    ClientState.DISCONNECTED: "Server unreachable — your words are kept",
    ClientState.ERROR: "Error",
}


@dataclass(frozen=True)
class OverlayView:
    """One frame of the overlay. `tone` picks the status colour: idle, speech, busy, done or problem."""

    visible: bool = False
    status: str = ""
    tone: str = "idle"
    text: str = ""
    alpha: float = 1.0


class OverlayModel:
    """Fed events (from one thread: the overlay's), it answers `view(now)`."""

    def __init__(self) -> None:
        self._state = ClientState.OFF
        self._detail = ""
        self._partial = ""
        self._final = ""
        self._latency_s: float | None = None
        self._hold_until = 0.0  # after this, fade out (unless speech or transcribing keeps it up)
        self.enabled = True

    def state(self, state: ClientState, detail: str, now: float) -> None:
        previous, self._state, self._detail = self._state, state, detail
        if state is ClientState.SPEECH and previous is not ClientState.SPEECH:
            self._partial, self._final, self._latency_s = "", "", None  # a new utterance
        if state in (ClientState.ERROR, ClientState.DISCONNECTED) and state is not previous:
            self._hold_until = now + ERROR_HOLD_S
        if state is ClientState.LISTENING and previous is ClientState.OFF:
            self._hold_until = max(self._hold_until, now + LISTENING_HOLD_S)
        if state is ClientState.OFF:
            self._hold_until = min(self._hold_until, now)

    def partial(self, text: str, now: float) -> None:
        if text:
            self._partial, self._final = text, ""

    def final(self, text: str, now: float) -> None:
        self._final, self._partial = text, ""
        self._latency_s = None
        self._hold_until = now + FINAL_HOLD_S

    def latency(self, seconds: float | None) -> None:
        """The last final's end-of-speech -> typed time (it comes from the history, just after the final)."""
        if self._final:
            self._latency_s = seconds

    def view(self, now: float) -> OverlayView:
        if not self.enabled:
            return OverlayView()
        busy = self._state in (ClientState.SPEECH, ClientState.TRANSCRIBING)
        problem = self._state in (ClientState.ERROR, ClientState.DISCONNECTED)
        if busy or now < self._hold_until:
            alpha = 1.0
        elif now < self._hold_until + FADE_S:
            alpha = 1.0 - (now - self._hold_until) / FADE_S
        else:
            return OverlayView()
        text = self._final or self._partial
        if self._final and not busy:
            status, tone = "Typed", "done"
            if self._latency_s is not None:
                status += f" · {latency_label(self._latency_s)} after you stopped"
        else:
            status = _STATUS[self._state]
            tone = "problem" if problem else "speech" if self._state is ClientState.SPEECH else \
                "busy" if busy else "idle"
            if self._state is ClientState.ERROR and self._detail:
                status = f"Error: {self._detail}"
        if len(text) > MAX_TEXT_CHARS:
            text = "…" + text[-(MAX_TEXT_CHARS - 1):]
        return OverlayView(visible=True, status=status, tone=tone, text=text, alpha=round(max(0.0, alpha), 3))
