"""What the focused app shows, as background text for the model: the text nearest the caret, the window title and
the app's name, within a budget of characters. Qwen3-ASR reads the system message as background knowledge, so
names and terms on screen ("Dear Ms Okonkwo") are spelled as there.

Pure: the readers (`_atspi`, `_uia`, `window_title`) fill an `AppText`; `compose` decides what is sent.
Privacy rules, all here so they hold for every reader:
- a password field gives nothing but the app's name (`AppText.secret`);
- at most `budget` characters of the field's text, those nearest the caret (before it first: what the user is
  continuing), never the whole document;
- the result goes only into the utterance's `start` message, and only to a server on this machine (loopback) or
  one the user gave a token for (`may_send`); it is never logged in full and never stored in the history.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["AppText", "compose", "may_send", "near_caret"]


@dataclass(frozen=True)
class AppText:
    """One reading of the focused app. `text` is the focused field's text ("" when unreadable), `caret` the
    caret's offset in it (None when unknown: the end is taken), `selection` the selected text if any."""

    app: str = ""
    title: str = ""
    text: str = ""
    caret: int | None = None
    selection: str = ""
    secret: bool = False  # a password field: its text never leaves the reader


def near_caret(text: str, caret: int | None, budget: int) -> str:
    """At most `budget` characters of `text` around `caret`: two thirds before it, the rest after, and the
    unused share of one side given to the other."""
    if budget <= 0 or not text:
        return ""
    if len(text) <= budget:
        return text
    caret = len(text) if caret is None else max(0, min(caret, len(text)))
    before = min(caret, budget - min(len(text) - caret, budget // 3))
    after = min(len(text) - caret, budget - before)
    return text[caret - before:caret + after]


def compose(reading: AppText, budget: int) -> str:
    """The context string for one utterance: the window title, then the selection or the text nearest the caret;
    at most `budget` characters in all ("" when nothing may or can be sent)."""
    if budget <= 0:
        return ""
    title = " ".join(reading.title.split())[: budget // 4]
    head = f"Window: {title}" if title else ""
    if reading.secret:
        return head
    room = budget - len(head) - (2 if head else 0)
    body = reading.selection or reading.text
    body = near_caret(body, None if reading.selection else reading.caret, room).strip()
    return "\n\n".join(part for part in (head, body) if part)


def may_send(server_url: str, token: str | None) -> bool:
    """Whether screen text may go to `server_url`: a loopback server, or any server with a token (one that asks
    for it, so the user chose to trust it); a server elsewhere without a token gets none."""
    if token:
        return True
    host = (urlsplit(server_url).hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
