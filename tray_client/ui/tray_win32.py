"""Windows-only tray fixes: per-monitor DPI awareness, and the tray icon from our multi-size .ico.

Why DPI awareness: a process that does not declare it is bitmap-stretched by Windows on a scaled display (125 %,
150 %), so the tray icon, its menu and the overlay come out blurry. Per-monitor-v2 (Windows 10 1703+) also
scales menus and dialogs per monitor. It must be set before the first window is created, so `run_tray` calls it
before pystray creates its window. (SetProcessDpiAwarenessContext fails with ERROR_ACCESS_DENIED when the awareness
was already set, e.g. by a manifest; that is fine.)

Why the .ico: pystray saves the PIL image as an ICO (Pillow scales our 64 px drawing down) and loads it with
LR_DEFAULTSIZE, i.e. at SM_CXICON (32 px at 100 %), so Windows shrinks it again to the small-icon size the tray
draws. assets/icons/<state>.ico holds every size drawn for itself (16, 20, 24, 32, ...); loading it at
SM_CXSMICON x SM_CYSMICON lets Windows pick the frame drawn for exactly the size it shows at this DPI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tray_client.events import ClientState
from tray_client.ui.icons import icon_path, load_state_icon

__all__ = ["fix_backend", "is_win32", "make_dpi_aware"]

log = logging.getLogger(__name__)

DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 = -4
PROCESS_PER_MONITOR_DPI_AWARE = 2
SM_CXSMICON, SM_CYSMICON = 49, 50
IMAGE_ICON, LR_LOADFROMFILE = 1, 0x10


def make_dpi_aware(user32: Any = None, shcore: Any = None) -> str:
    """Declare per-monitor-v2 DPI awareness (older Windows: per-monitor, then system); return which took."""
    import ctypes

    user32 = user32 or ctypes.windll.user32  # type: ignore[attr-defined]
    setter = getattr(user32, "SetProcessDpiAwarenessContext", None)
    if setter is not None and setter(ctypes.c_void_p(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2)):
        return "per-monitor-v2"
    try:
        shcore = shcore or ctypes.windll.shcore  # type: ignore[attr-defined]
        if shcore.SetProcessDpiAwareness(PROCESS_PER_MONITOR_DPI_AWARE) == 0:  # S_OK (Windows 8.1+)
            return "per-monitor"
    except (OSError, AttributeError):
        pass
    return "system" if user32.SetProcessDPIAware() else "unchanged"


def is_win32(icon: Any) -> bool:
    """Whether `icon` uses pystray's win32 backend."""
    return type(icon).__module__.endswith("_win32")


def ico_for(image: Any, base: Path | None = None) -> Path | None:
    """The multi-size .ico drawn for the state whose image `image` is, if it is installed."""
    for state in ClientState:
        if load_state_icon(state) is image:
            path = icon_path(state, "ico", base)
            return path if path.is_file() else None
    return None


def fix_backend(icon: Any, *, load_image: Callable[..., Any] | None = None,
                metrics: Callable[[int], int] | None = None) -> None:
    """Make pystray's win32 icon load our .ico at the small-icon size (see the module doc); no-op elsewhere."""
    if not is_win32(icon):
        return
    original = icon._assert_icon_handle

    def assert_icon_handle() -> None:
        if icon._icon_handle:
            return
        path = ico_for(icon.icon)
        if path is None:
            original()
            return
        nonlocal load_image, metrics
        if load_image is None or metrics is None:
            import ctypes

            from pystray._util import win32

            load_image, metrics = win32.LoadImage, ctypes.windll.user32.GetSystemMetrics  # type: ignore[attr-defined]
        try:
            icon._icon_handle = load_image(None, str(path), IMAGE_ICON, metrics(SM_CXSMICON), metrics(SM_CYSMICON),
                                           LR_LOADFROMFILE)
        except OSError as error:
            log.warning("could not load %s (%s); using pystray's own icon conversion", path, error)
            original()

    icon._assert_icon_handle = assert_icon_handle
