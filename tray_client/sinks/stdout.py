"""The headless sink: one final per line on stdout, always UTF-8."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["StdoutSink"]


class StdoutSink:
    """One final per line on stdout: the headless contract that scripts and tests read.

    Always UTF-8, whatever the console code page: Windows gives a pipe cp1252 (or the OEM code page), which
    cannot hold CJK and raised UnicodeEncodeError. So the bytes go to the stream's binary buffer when it has one.
    """

    spaced = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def emit(self, text: str) -> None:
        stream = self._stream or sys.stdout
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a StringIO or a stream without bytes underneath: it takes str
            stream.write(text + "\n")
            stream.flush()
            return
        stream.flush()  # anything already written as text goes first, in order
        buffer.write((text + "\n").encode("utf-8"))
        buffer.flush()
