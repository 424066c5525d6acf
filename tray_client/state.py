"""What the tray shows, derived from the facts of the moment by one pure function (no thread, no I/O).

The precedence says what the user must know first: a problem they must fix beats a disconnected server, which
beats speech in progress, which beats waiting for a transcript, which beats plain listening.
"""

from __future__ import annotations

from dataclasses import dataclass

from tray_client.events import ClientState


@dataclass(frozen=True)
class Facts:
    """Everything the state depends on, gathered by the pipeline on its thread."""

    capture_error: str = ""  # the microphone is missing or failing (retried)
    fault: str = ""  # a background task died (restarted; see the log)
    link_error: str = ""  # the server refused us: the user must act (token)
    link_connected: bool = False
    link_detail: str = ""
    speaking: bool = False  # an utterance is open
    transcribing: bool = False  # finals are awaited or still being output
    listening: bool = False  # audio is being read


def derive_state(facts: Facts) -> tuple[ClientState, str]:
    """The state and its detail line (empty unless something is wrong)."""
    if facts.capture_error:
        return ClientState.ERROR, facts.capture_error
    if facts.fault:
        return ClientState.ERROR, facts.fault
    if facts.link_error:
        return ClientState.ERROR, facts.link_error
    if not facts.link_connected:
        return ClientState.DISCONNECTED, facts.link_detail
    if facts.speaking:
        return ClientState.SPEECH, ""
    if facts.transcribing:
        return ClientState.TRANSCRIBING, ""
    if facts.listening:
        return ClientState.LISTENING, ""
    return ClientState.OFF, ""
