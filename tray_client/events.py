"""Typed commands into the pipeline and typed events out of it.

These are the only things that cross between the asyncio pipeline thread and the UI threads (pystray main
thread, pynput listener thread). They are immutable, so sharing them across threads is safe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Command(enum.Enum):
    """What the tray, the hotkeys or the headless CLI ask the pipeline to do (thread-safe via Pipeline.send)."""

    LISTEN_ON = "listen_on"  # VAD mode: utterances start and end on speech
    LISTEN_OFF = "listen_off"
    PTT_DOWN = "ptt_down"  # push-to-talk: record from key-down (with pre-roll) to key-up, VAD not needed
    PTT_UP = "ptt_up"
    TOGGLE_RECORD = "toggle_record"  # press to start recording, press again to stop
    RECONNECT = "reconnect"  # drop the WebSocket and connect again now


class ClientState(enum.Enum):
    """What the tray icon shows."""

    OFF = "off"  # not listening
    LISTENING = "listening"  # mic open, waiting for speech
    SPEECH = "speech"  # hearing speech: an utterance is open
    TRANSCRIBING = "transcribing"  # speech ended, waiting for its final
    DISCONNECTED = "disconnected"  # the server cannot be reached; audio is kept for replay
    ERROR = "error"  # the user must act (mic missing, auth refused); `detail` says what


@dataclass(frozen=True)
class StateChanged:
    """The pipeline moved to another state."""

    state: ClientState
    detail: str = ""


@dataclass(frozen=True)
class PartialText:
    """A partial transcript for an utterance still open or waiting for its final."""

    utterance_id: str
    text: str


@dataclass(frozen=True)
class FinalText:
    """A final transcript, sanitized, exactly once per utterance, as it was output."""

    utterance_id: str
    text: str
    language: str = ""
    raw: str = ""  # the server's text before sanitizing (history keeps both)
    typed: str = ""  # exactly what the sink was given, spacing included (undo deletes this many characters)
    typing_s: float = 0.0  # seconds the sink took to output it (a part of the end-of-speech latency)
    app: str = ""  # where it went: the app it was typed into, "clipboard" when it was not typed, "" unknown
    window: str = ""  # the window it was typed into (HWND / X id; "" unknown or not typed): undo checks it


@dataclass(frozen=True)
class Notice:
    """Something the user should read (tray notification): `level` is "info", "warning" or "error"."""

    level: str
    message: str
    extra: dict[str, str] = field(default_factory=dict)
    # What kind of problem, for code that must react (the headless run exits on some): "auth_refused",
    # "output_unavailable", "untranscribed", "not_output", "capture", "fault", "spilled",
    # "recovered" (audio that a run which died left on disk, now saved as WAV), "server_unstable" (the server
    # keeps ending sessions without a transcript), "bad_reply" (a reply the client cannot read); "" for plain news.
    code: str = ""



@dataclass(frozen=True)
class SpeechSegment:
    """Diagnostics: where an utterance lay in the input stream (seconds since the input opened), on its end."""

    utterance_id: str
    onset_s: float  # speech (or key press) detected here
    speech_end_s: float  # end of the last speech frame
    preroll_s: float  # audio from before the onset that was sent first
    reason: str  # why it ended: silence, pause, max_length, manual, off, end_of_input, shutdown
    end_s: float = 0.0  # where the utterance closed (speech end plus the silence that confirmed it)


PipelineEvent = StateChanged | PartialText | FinalText | Notice | SpeechSegment
