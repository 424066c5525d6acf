"""Server messages the link core only takes note of (pure, like the core): `ready`, which says what the server
can do; the errors that need no more than the utterance they name (unauthorized, busy, too_long); and a reply
that cannot be read at all. (An `engine` error, a decode that failed, stays in the core: it retries.)

`ready` is information only: an original-protocol server never sends it, and streaming starts at once. It
says whether the server takes `silence` and how long its finals may take, so stops already sent get the
longer wait. An unreadable reply (a 5,000-digit number, nesting past the parser's depth, not JSON) is dropped,
never a traceback; the utterance it may have answered is replayed when its final is late (the core's rules).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dictation_core import protocol
from tray_client.link.actions import TOKEN_ADVICE, Action, AuthRefused, Disconnect, LinkError

if TYPE_CHECKING:
    from tray_client.link.core import LinkSettings, _Utterance, _Wire

__all__ = ["UnreadableReplies", "take_error", "take_ready"]

log = logging.getLogger(__name__)


def take_ready(message: protocol.Ready, wire: _Wire, pending: Iterable[_Utterance], settings: LinkSettings) -> None:
    """Note what the server said it can do on this connection, and extend the deadlines of stops already sent."""
    log.info("server ready: model %r, backend %r%s", message.model, message.backend,
             f", finals may take up to {message.final_timeout_s:g} s" if message.final_timeout_s else "")
    wire.takes_silence = message.silence
    wire.final_timeout_s = message.final_timeout_s
    # `ready` comes after the first audio (the client streams at once): stops already sent get the longer wait.
    extra = wire.final_wait_s(settings) - settings.final_timeout_s
    for utterance in pending:
        if extra > 0 and utterance.deadline is not None:
            utterance.deadline += extra


def take_error(error: protocol.ServerError, found: tuple[_Utterance, int] | None) -> list[Action]:
    """An error other than a failed decode; `found`: the utterance (and segment) it names, if pending."""
    if error.code == protocol.UNAUTHORIZED:
        return [Disconnect(AuthRefused(f"the server refused the token ({error.message}). {TOKEN_ADVICE}"))]
    if error.code == protocol.BUSY and found is None:
        return [Disconnect(LinkError(f"the server is busy ({error.message}); retrying"))]
    if error.code == protocol.BUSY and found is not None:  # this utterance only: send it again later
        utterance, segment = found
        if segment not in utterance.segments and utterance.failed is None:
            log.info("the server is busy; %s is sent again after its next final", error.utterance_id)
            utterance.hold()
        return []
    if error.code == protocol.TOO_LONG and found is not None:
        utterance, segment = found
        utterance.cuts = max(utterance.cuts, segment)
        log.info("utterance %s was cut at the server's length limit; its rest follows as %s",
                 error.utterance_id, utterance.segment_id(segment + 1))
        return []
    log.warning("server error %s for utterance %s: %s", error.code, error.utterance_id, error.message)
    return []


class UnreadableReplies:
    """Logged once per connection (then counted), told to the user once until a final reads well again."""

    def __init__(self) -> None:
        self._on_connection = 0
        self._told = False

    def seen(self, raw: str | bytes, error: ValueError | RecursionError) -> str | None:
        """A reply could not be read: what to tell the user, or None (already told)."""
        self._on_connection += 1
        if self._on_connection > 1:
            return None
        if isinstance(error, protocol.ProtocolError):
            what = error.message
        elif isinstance(error, RecursionError):
            what = "JSON nested deeper than the client reads"
        else:  # json's own limit: an integer of thousands of digits
            what = f"a JSON value past the client's limits ({str(error).split(';')[0][:100]})"
        size = f"{len(raw):,} {'bytes' if isinstance(raw, bytes) else 'characters'}"
        log.warning("a message from the server could not be read and is ignored (%s; %s)", what, size)
        if self._told:
            return None
        self._told = True
        return (f"the server sent a reply this client cannot read ({what}); it is ignored, and an utterance it "
                "answered is sent again. Update the server or the client if this repeats.")

    def connection_ended(self) -> None:
        if self._on_connection > 1:
            log.warning("%d messages from the server on that connection could not be read", self._on_connection)
        self._on_connection = 0

    def read_well(self) -> None:
        self._told = False
