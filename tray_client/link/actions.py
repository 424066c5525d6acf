"""What the link core asks its driver to do (the actions its methods return), and the link's errors.

Pure values: the core (core.py) and the replies it only takes note of (replies.py) return them; the driver
(driver.py) carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from tray_client.events import NoticeCode

__all__ = ["TOKEN_ADVICE", "Action", "AuthRefused", "Deliver", "Disconnect", "Fail", "LinkError", "Reconnect",
           "ShowPartial", "Tell", "Unsent"]

# How to fix a refused token, for the tray user (Settings) and the command line alike. Plain words: a
# notification on Linux reads markup, so a placeholder such as "<token>" would vanish from it.
TOKEN_ADVICE = ("Enter the token the server was started with (its --token) in Settings > Token, or as "
                "token = \"...\" in config.toml; on the command line, pass --token.")


class LinkError(RuntimeError):
    """The link cannot carry on as configured."""


class AuthRefused(LinkError):
    """The server refused the token: set `token` (or --token) to the server's token."""


# ----- actions: what the driver must do -----
@dataclass(frozen=True)
class Deliver:
    """Hand a final to the consumer, then call `delivered` (or `delivery_failed`) with its segment id."""

    segment_id: str
    text: str
    language: str


@dataclass(frozen=True)
class ShowPartial:
    """A partial transcript of an utterance still pending."""

    segment_id: str
    text: str


@dataclass(frozen=True)
class Unsent:
    """An utterance still waiting for its final when the link closed: its audio, so that it is kept, not lost."""

    utterance_id: str
    audio: bytes


@dataclass(frozen=True)
class Fail:
    """Given up on an utterance: hand its audio back so that the user can be told and nothing disappears.

    With a write-ahead journal, its file is left for the handler to delete once the audio is kept elsewhere."""

    utterance_id: str
    audio: bytes
    why: str


@dataclass(frozen=True)
class Reconnect:
    """Drop the connection and connect again; the new connection replays everything unfinished."""

    reason: str


@dataclass(frozen=True)
class Disconnect:
    """The server refused this session: close it and raise `error` (AuthRefused: wait for a new token)."""

    error: LinkError


@dataclass(frozen=True)
class Tell:
    """Something the user should know (audio moved to disk while the server is down, a reply it cannot read)."""

    level: str
    message: str
    code: NoticeCode = NoticeCode.SPILLED  # the pipeline's Notice code


Action = Deliver | ShowPartial | Fail | Reconnect | Disconnect | Tell
