"""Windows tray fixes with their Win32 calls faked: DPI awareness, and the tray icon from the multi-size .ico."""

from __future__ import annotations

import ctypes
from types import SimpleNamespace

from tray_client.events import ClientState
from tray_client.ui import tray_win32
from tray_client.ui.icons import icon_path, load_state_icon


class User32:
    def __init__(self, context_ok: bool) -> None:
        self.context_ok = context_ok
        self.calls: list[tuple[str, object]] = []

    def SetProcessDpiAwarenessContext(self, context: object) -> int:
        self.calls.append(("context", getattr(context, "value", context)))
        return 1 if self.context_ok else 0

    def SetProcessDPIAware(self) -> int:
        self.calls.append(("system", None))
        return 1


def test_per_monitor_v2_is_asked_for_first():
    user32 = User32(context_ok=True)
    assert tray_win32.make_dpi_aware(user32, SimpleNamespace()) == "per-monitor-v2"
    # DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 is ((DPI_AWARENESS_CONTEXT)-4): a pointer-sized -4
    assert user32.calls == [("context", ctypes.c_void_p(-4).value)]


def test_older_windows_falls_back_to_per_monitor_then_system():
    shcore = SimpleNamespace(SetProcessDpiAwareness=lambda level: 0 if level == 2 else 1)
    assert tray_win32.make_dpi_aware(User32(context_ok=False), shcore) == "per-monitor"
    assert tray_win32.make_dpi_aware(User32(context_ok=False), SimpleNamespace()) == "system"


class Win32Icon:
    """Stands in for pystray's win32 Icon (the module name is what the fix checks)."""

    def __init__(self, image: object) -> None:
        self.icon = image
        self._icon_handle = None
        self.pystray_conversions = 0

    def _assert_icon_handle(self) -> None:
        self.pystray_conversions += 1
        self._icon_handle = "pystray's own"


Win32Icon.__module__ = "pystray._win32"


def test_the_tray_loads_the_drawn_ico_at_the_small_icon_size():
    loaded: list[tuple] = []
    icon = Win32Icon(load_state_icon(ClientState.LISTENING))
    tray_win32.fix_backend(icon, load_image=lambda *args: loaded.append(args) or "handle",
                           metrics={49: 20, 50: 20}.__getitem__)  # SM_CXSMICON at 125 %
    icon._assert_icon_handle()
    assert icon._icon_handle == "handle" and icon.pystray_conversions == 0
    (_, path, image_type, cx, cy, flags), = loaded
    assert path == str(icon_path(ClientState.LISTENING, "ico")) and (image_type, cx, cy, flags) == (1, 20, 20, 0x10)


def test_an_image_without_an_ico_uses_pystrays_conversion():
    icon = Win32Icon(object())
    tray_win32.fix_backend(icon, load_image=lambda *args: "unused", metrics=lambda _: 16)
    icon._assert_icon_handle()
    assert icon._icon_handle == "pystray's own"
