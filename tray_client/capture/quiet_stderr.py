"""Silence C libraries' stderr for a moment: PortAudio's start-up probing on Linux.

Pa_Initialize asks ALSA and JACK about every device they might have; on a machine without a sound card (a server,
a VM, a container) they print hundreds of lines ("ALSA lib pcm.c:... Unknown PCM", "jack server is not running")
straight to file descriptor 2, below Python, so a terminal start drowned in them. Errors that matter still
surface: PyAudio raises, and we report that with a fix. Other apps do the same (redirect fd 2 around the call).

The redirect is process-wide for its duration (well under a second): a log line another thread writes to the
terminal then is lost there, but not from the log file.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["quiet_stderr"]


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to the null device inside the block (Linux and other POSIX systems only; Windows'
    PortAudio prints nothing)."""
    if sys.platform == "win32":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no fd 2 (pythonw-like starts): nothing to silence
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
