"""The live preview as the tray switches it: on its own thread (window.py), hearing the pipeline directly.

Without Tk it cannot be shown: a notice says how to get Tk, and the menu's check mark goes off (not a preview
that never appears).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tray_client.port import PipelinePort
from tray_client.ui.overlay.tk_support import tk_missing
from tray_client.ui.overlay.window import Overlay

__all__ = ["Preview"]

log = logging.getLogger(__name__)


class Preview:
    """Starts the overlay on first use and turns it on and off (tray-controller thread)."""

    def __init__(self, pipeline: PipelinePort, notify: Callable[[str], object], publish: Callable[..., None]) -> None:
        self._pipeline = pipeline
        self._notify = notify
        self._publish = publish
        self._overlay: Overlay | None = None

    @property
    def failed(self) -> str | None:
        """Why the overlay could not run, or None."""
        return self._overlay.failed if self._overlay is not None else None

    def set_enabled(self, enabled: bool) -> bool:
        """Turn the preview on or off; returns whether it is on now (never without Tk)."""
        problem = tk_missing("The live preview") if enabled and self._overlay is None else None
        if problem is not None:
            log.warning("%s", problem)
            self._notify(problem)
            self._publish(overlay=False)
            return False
        if enabled and self._overlay is None:
            self._overlay = Overlay()
            self._overlay.start()
            self._pipeline.subscribe(self._overlay.post)
        if self._overlay is not None:
            self._overlay.set_enabled(enabled)
        return enabled

    def latency(self, seconds: float | None) -> None:
        """Show the last end-of-speech -> typed latency under the text."""
        if self._overlay is not None:
            self._overlay.latency(seconds)

    def close(self) -> None:
        if self._overlay is not None:
            self._overlay.close()
