"""The freed start-up heap goes back to the OS (tray_client/_memory.py)."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest

from tray_client._memory import return_freed_memory


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_heap_freed_at_start_up_is_returned_to_the_os():
    """40 MB malloc'd in small blocks and freed stay resident (glibc keeps them) until the trim gives them back."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(16 * 1024) for _ in range(2560)]
    for block in blocks:
        ctypes.memset(block, 1, 16 * 1024)  # touched: resident
    for block in reversed(blocks[1:]):  # the first stays: the heap cannot shrink from its top on its own
        libc.free(block)
    held = _rss_kb()
    assert return_freed_memory()
    assert held - _rss_kb() > 20 * 1024, "the trim should hand back most of the 40 MB"
    libc.free(blocks[0])
