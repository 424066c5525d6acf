"""Typing an edited text, line breaks included, into the focused window (output thread).

Text reaches a sink sanitized, without control characters (sinks/keys.py): a line break of the answer is the
sink's NEWLINE key, as for the voice command "new line"."""

from __future__ import annotations

from tray_client.sinks import TextSink
from tray_client.sinks.keys import Key, KeySink

__all__ = ["type_lines"]


def type_lines(sink: TextSink, text: str) -> str:
    """Type `text` line by line; return what reached the window (a "\\n" for each line-break key)."""
    lines = text.split("\n")
    if not isinstance(sink, KeySink):  # no keys to press: one line, as a final would be
        joined = " ".join(line for line in lines if line)
        sink.emit(joined)
        return joined
    for index, line in enumerate(lines):
        if index:
            sink.press(Key.NEWLINE)
        if line:
            sink.emit(line)
    return text
