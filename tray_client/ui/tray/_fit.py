"""Fit text into Windows' fixed-size UTF-16 buffers: the tray tooltip (128 units) and notifications (256).

Why UTF-16 units and not characters: Shell_NotifyIcon's NOTIFYICONDATAW holds `szTip[128]`, `szInfo[256]` and
`szInfoTitle[64]` WCHARs, terminator included, and an emoji or a rare CJK character (outside the BMP) takes two.
pystray copies our string into those arrays and ctypes raises ValueError when it does not fit: a 150-character
final ending in emoji quit the tray (found under Wine). Cuts never split a surrogate pair, because they are made
between Python characters (code points).
"""

from __future__ import annotations

__all__ = ["NOTIFY_MESSAGE_MAX", "NOTIFY_TITLE_MAX", "TOOLTIP_MAX", "fit", "shorten", "utf16_units"]

TOOLTIP_MAX = 127
"""szTip: 128 WCHARs including the terminator."""
NOTIFY_MESSAGE_MAX = 255
"""szInfo: 256 WCHARs including the terminator."""
NOTIFY_TITLE_MAX = 63
"""szInfoTitle: 64 WCHARs including the terminator."""

_ELLIPSIS = "…"


def utf16_units(text: str) -> int:
    """How many UTF-16 code units `text` takes (two per character outside the BMP)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def shorten(text: str, limit: int, *, keep: str = "end") -> str:
    """`text` on one line, cut to at most `limit` UTF-16 units with an ellipsis.

    `keep="end"` keeps the newest words (a transcript); `keep="start"` keeps the beginning (an error, whose
    first words say what went wrong)."""
    flat = " ".join(text.split())
    if utf16_units(flat) <= limit:
        return flat
    if limit <= 0:
        return ""
    room = limit - 1  # the ellipsis takes one unit
    chars = flat if keep == "start" else flat[::-1]
    kept: list[str] = []
    for char in chars:
        room -= 2 if ord(char) > 0xFFFF else 1
        if room < 0:
            break
        kept.append(char)
    if keep == "start":
        return "".join(kept) + _ELLIPSIS
    return _ELLIPSIS + "".join(reversed(kept))


def fit(text: str, limit: int) -> str:
    """`text` with its line breaks kept, cut at the end to at most `limit` UTF-16 units (no ellipsis)."""
    out: list[str] = []
    used = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        out.append(char)
    return "".join(out)
