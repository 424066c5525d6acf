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
    app: str = ""  # where it went: the app of the focus it was pinned to and typed into (desktop/focus.py),
    # "clipboard" when it was not typed, "" unknown; the history records this, never asking the OS again
    window: str = ""  # the window it was typed into (HWND / X id; "" unknown or not typed): undo checks it


class NoticeCode(str, enum.Enum):
    """What kind of problem a Notice reports, for code that must react (the headless run exits on some).

    A str enum, so a code compares equal to its value ("auth_refused"); `Notice` turns a plain string into its
    member and refuses one that is not listed here, so every code used anywhere is in this list."""

    PLAIN = ""  # plain news
    AUTH_REFUSED = "auth_refused"  # the server refused the token
    OUTPUT_UNAVAILABLE = "output_unavailable"  # the output the settings ask for cannot be made
    UNTRANSCRIBED = "untranscribed"  # an utterance got no transcript (its audio is kept)
    NOT_OUTPUT = "not_output"  # a transcript came but could not be typed (the text is in the notice)
    ON_CLIPBOARD = "on_clipboard"  # a transcript was put on the clipboard instead of typed
    TEXT = "text"  # the text stage has something to say (an undo refused, a clean-up skipped)
    CAPTURE = "capture"  # the microphone failed or lags
    FAULT = "fault"  # an internal task died (and was restarted), or the pipeline stopped
    SPILLED = "spilled"  # held audio moved to disk while the server is down
    RECOVERED = "recovered"  # audio that a run which died left on disk, now saved as WAV
    RECOVERED_TEXT = "recovered_text"  # kept audio transcribed at start and offered in Recent
    RECOVERY = "recovery"  # kept audio could not be transcribed yet
    SERVER_UNSTABLE = "server_unstable"  # the server keeps ending sessions without a transcript
    BAD_REPLY = "bad_reply"  # a reply the client cannot read


@dataclass(frozen=True)
class Notice:
    """Something the user should read (tray notification): `level` is "info", "warning" or "error"."""

    level: str
    message: str
    extra: dict[str, str] = field(default_factory=dict)
    code: NoticeCode = NoticeCode.PLAIN  # what kind of problem (see NoticeCode)

    def __post_init__(self) -> None:
        # ValueError for a code not in NoticeCode: a new kind of notice must be listed there first.
        object.__setattr__(self, "code", NoticeCode(self.code))


@dataclass(frozen=True)
class SpeechSegment:
    """Diagnostics: where an utterance lay in the input stream (seconds since the input opened), on its end."""

    utterance_id: str
    onset_s: float  # speech (or key press) detected here
    speech_end_s: float  # end of the last speech frame
    preroll_s: float  # audio from before the onset that was sent first
    reason: str  # why it ended: silence, pause, max_length, manual, off, end_of_input, shutdown
    end_s: float = 0.0  # where the utterance closed (speech end plus the silence that confirmed it)


@dataclass(frozen=True)
class RecoveredText:
    """The words of audio an earlier run could not get transcribed (it was killed, the PC lost power, the session
    ended with the server down), transcribed at this start. Offered (history, the tray's Recent), never typed: the
    window they were meant for is long gone."""

    utterance_id: str
    text: str
    raw: str = ""
    language: str = ""
    audio_s: float = 0.0


PipelineEvent = StateChanged | PartialText | FinalText | Notice | SpeechSegment | RecoveredText
