"""Standing a fake module in for a real one (vllm, pyaudio) for the length of a `with` block."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator


@contextlib.contextmanager
def swapped_module(name: str, module: types.ModuleType) -> Iterator[types.ModuleType]:
    """`import name` returns `module` inside; afterwards the previous module (or none) is back.

    Only this one entry is restored: modules imported meanwhile (torch, qwen_asr) stay loaded, because importing
    them twice in one process breaks them.
    """
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        yield module
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
