"""The tray app: the icon, its menu, the controller that handles every event and intent, the hotkeys' and the
features' wiring (see app.py's thread map). Its public face is `run_tray` and `TrayApp`; they are imported on
first use, so a part (the icons, the menu) can be imported without the whole app."""

from __future__ import annotations

from typing import Any

__all__ = ["TrayApp", "run_tray"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tray_client.ui.tray import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
