"""Give the C heap's free pages back to the operating system once start-up is over.

Start-up (imports, the ONNX session's set-up, the first connections) frees several MB that glibc's malloc keeps
mapped for the life of the process: the tray app on a noise floor held 5-6 MB less after one `malloc_trim(0)`
(BENCHMARKS.md, issue 22). Only glibc has it: elsewhere (Windows, macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)


def return_freed_memory() -> bool:
    """Ask glibc to return free heap pages to the OS; True when it was asked. Takes a few ms: not on a UI thread."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # a libc without malloc_trim (musl)
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
    return True
