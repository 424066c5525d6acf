"""The live preview: the pure rules of what it shows (`model`), its Tk window on a thread of its own
(`window`), and the switch the tray turns (`preview`). Tk is imported only when the window starts."""

from __future__ import annotations

from tray_client.ui.overlay.model import OverlayModel
from tray_client.ui.overlay.preview import Preview
from tray_client.ui.overlay.window import OVERLAY_TITLE, Overlay

__all__ = ["OVERLAY_TITLE", "Overlay", "OverlayModel", "Preview"]
