"""From a final transcript to what is typed: the pure text stage (`stage`: sanitize, commands, clean-up, script,
replacements), the writer on the output thread (`writer`), and the pipeline's one hook into both (`dispatch`).
Its public face is imported on first use: the pure modules stay importable without the desktop parts."""

from __future__ import annotations

from typing import Any

__all__ = ["FollowFocus", "TextDispatch", "TextStage", "TextWriter", "Written"]

_HOMES = {"FollowFocus": "dispatch", "TextDispatch": "dispatch", "TextStage": "stage", "TextWriter": "writer",
          "Written": "writer"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"tray_client.text.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
