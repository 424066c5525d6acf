"""Windows tray fixes with their Win32 calls faked: DPI awareness, and the tray icon from the multi-size .ico."""

from __future__ import annotations

import ctypes
import threading
from types import SimpleNamespace

import pytest

from tray_client.events import ClientState
from tray_client.ui.tray import win32 as tray_win32
from tray_client.ui.tray.icons import icon_path, load_state_icon
from tray_client.ui.tray.menu import serialize_menu_updates


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
        self._hwnd = "the icon's window"
        self.pystray_conversions = 0
        self.notified: list[tuple[int, int]] = []
        self._message_handlers = {0x0400 + 11: self._on_notify}  # pystray's WM_NOTIFY (WM_USER + 11)

    def _on_notify(self, wparam: int, lparam: int) -> None:
        self.notified.append((wparam, lparam))
        if lparam == 0x0205 and self.icon == "a menu action that raises":
            raise RuntimeError("the chosen item's action failed")

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


def test_a_benign_message_follows_each_popup_menu_so_the_second_one_stays_open():
    """KB135788: without a WM_NULL posted after TrackPopupMenu, a tray menu flashes shut the second time."""
    posted: list[tuple] = []
    icon = Win32Icon(object())
    tray_win32.fix_backend(icon, load_image=lambda *args: "unused", metrics=lambda _: 16,
                           post_message=lambda *args: posted.append(args))
    notify = icon._message_handlers[0x0400 + 11]
    notify(0, 0x0202)  # a left click: no menu
    assert posted == [] and icon.notified == [(0, 0x0202)]
    notify(0, 0x0205)  # a right click: pystray's handler ran the menu, then the benign message follows
    assert icon.notified[-1] == (0, 0x0205) and posted == [("the icon's window", 0, 0, 0)]


def test_the_benign_message_is_posted_even_when_the_chosen_action_raises():
    posted: list[tuple] = []
    icon = Win32Icon("a menu action that raises")
    tray_win32.fix_backend(icon, load_image=lambda *args: "unused", metrics=lambda _: 16,
                           post_message=lambda *args: posted.append(args))
    with pytest.raises(RuntimeError):
        icon._message_handlers[0x0400 + 11](0, 0x0205)
    assert posted == [("the icon's window", 0, 0, 0)]


def test_no_rebuild_can_destroy_the_menu_while_it_is_open_and_the_rebuild_after_the_action_still_runs():
    """A right-click during a controller rebuild got a destroyed HMENU (Windows lane); the open menu holds the
    rebuild lock, which the icon thread may take again for pystray's rebuild after the chosen action."""
    icon = Win32Icon(object())
    rebuilds: list[str] = []
    icon._update_menu = lambda: rebuilds.append(threading.current_thread().name)
    menu_lock = serialize_menu_updates(icon)
    taken_elsewhere: list[bool] = []

    def track_the_menu_then_run_the_action(wparam: int, lparam: int) -> None:
        other = threading.Thread(target=lambda: taken_elsewhere.append(menu_lock.acquire(blocking=False)))
        other.start()
        other.join()
        icon._update_menu()  # pystray's handler rebuilds after the action, on this thread

    icon._message_handlers[0x0400 + 11] = track_the_menu_then_run_the_action
    tray_win32.fix_backend(icon, menu_lock=menu_lock, load_image=lambda *args: "unused", metrics=lambda _: 16,
                           post_message=lambda *args: None)
    icon._message_handlers[0x0400 + 11](0, 0x0205)
    assert taken_elsewhere == [False], "another thread could rebuild (destroy) the menu while it was open"
    assert rebuilds == [threading.current_thread().name]
    assert menu_lock.acquire(blocking=False), "the lock is free again once the menu closed"


def test_a_sign_out_is_never_blocked_and_quits_fully_before_the_window_procedure_returns():
    """pystray answers unknown messages with 0, which to WM_QUERYENDSESSION means "do not end the session"."""
    icon = Win32Icon(object())
    calls: list[str] = []
    quit_done = threading.Event()

    def on_end() -> None:
        calls.append("end")
        threading.Thread(target=lambda: (calls.append("saved and logged"), quit_done.set())).start()
        assert quit_done.wait(10)  # what app.py does: post Quit, wait for it to have run

    assert tray_win32.watch_session_end(icon, on_query=lambda: calls.append("flush"), on_end=on_end)
    handlers = icon._message_handlers
    assert handlers[tray_win32.WM_QUERYENDSESSION](0, tray_win32.ENDSESSION_LOGOFF) == 1  # TRUE: may end
    assert calls == ["flush"], "a query only makes the audio safe: another app may still cancel the sign-out"
    assert handlers[tray_win32.WM_ENDSESSION](0, 0) == 0 and calls == ["flush"], "cancelled: the app goes on"
    handlers[tray_win32.WM_ENDSESSION](1, tray_win32.ENDSESSION_LOGOFF)
    assert calls == ["flush", "end", "saved and logged"], "returned before the quit had run"


def test_a_failing_flush_still_lets_the_session_end():
    icon = Win32Icon(object())

    def broken() -> None:
        raise OSError("disk gone")

    tray_win32.watch_session_end(icon, on_query=broken, on_end=broken)
    assert icon._message_handlers[tray_win32.WM_QUERYENDSESSION](0, 0) == 1
    assert icon._message_handlers[tray_win32.WM_ENDSESSION](1, 0) == 0


def test_other_backends_are_left_alone():
    assert not tray_win32.watch_session_end(SimpleNamespace(_message_handlers={}), on_query=print, on_end=print)
