"""The link to the server: a pure state machine (`core`, with `actions`, `replies` and the `backoff` policy) and
its asyncio driver (`driver`, with `reconnects`), plus where held audio waits (`spool`, `journal`,
`spool_folders`). Its public face is imported on first use, so importing the pure core never loads the driver."""

from __future__ import annotations

from typing import Any

__all__ = ["AuthRefused", "Link", "LinkCore", "LinkError", "LinkSettings", "LinkStatus"]

_HOMES = {"AuthRefused": "actions", "LinkError": "actions", "LinkCore": "core", "LinkSettings": "core",
          "Link": "driver", "LinkStatus": "driver"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"tray_client.link.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
