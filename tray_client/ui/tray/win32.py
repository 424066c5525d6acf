"""Windows-only tray fixes: per-monitor DPI awareness, the tray icon from our multi-size .ico, and a popup menu that
is whole when it opens and opens again the second time.

Why DPI awareness: a process that does not declare it is bitmap-stretched by Windows on a scaled display (125 %,
150 %), so the tray icon, its menu and the overlay come out blurry. Per-monitor-v2 (Windows 10 1703+) also
scales menus and dialogs per monitor. It must be set before the first window is created, so `run_tray` calls it
before pystray creates its window. (SetProcessDpiAwarenessContext fails with ERROR_ACCESS_DENIED when the awareness
was already set, e.g. by a manifest; that is fine.)

Why the .ico: pystray saves the PIL image as an ICO (Pillow scales our 64 px drawing down) and loads it with
LR_DEFAULTSIZE, i.e. at SM_CXICON (32 px at 100 %), so Windows shrinks it again to the small-icon size the tray
draws. assets/icons/<state>.ico holds every size drawn for itself (16, 20, 24, 32, ...); loading it at
SM_CXSMICON x SM_CYSMICON lets Windows pick the frame drawn for exactly the size it shows at this DPI.

Why the menu lock around the popup menu: pystray rebuilds the menu on whichever thread calls update_menu, and the
rebuild destroys the old HMENU. Our controller thread rebuilds it on every state change, so a right-click at that
moment handed TrackPopupMenuEx a destroyed menu: no menu, or an empty one (seen in the Windows lane right after a
Mode change). While the menu is open, the icon thread holds the rebuild lock (tray.serialize_menu_updates); a
rebuild waits for the menu to close, and the chosen item's action then runs on a menu that is whole.

Why WM_NULL after the menu: the TrackPopupMenu documentation (and KB135788) says a notification icon's menu needs
its window in the foreground, which pystray does, and that "the second time this menu is displayed, it appears and
then immediately disappears" unless the app forces a task switch by posting a benign message (WM_NULL) to that
window after TrackPopupMenu returns. pystray does not post it, so the tray's menu could flash shut on the second
right-click. tailscale/walk#28 made the same fix in Go.

Why WM_QUERYENDSESSION / WM_ENDSESSION: at sign-out, shutdown or an update restart, Windows sends these to every
top-level window and then ends the process; a GUI app never gets SIGTERM. pystray's window procedure answers
every message it does not know with 0, and 0 to WM_QUERYENDSESSION means "do not end the session" (Windows then
names the app as blocking the sign-out). So we answer TRUE, and flush the write-ahead audio at once (another app
may still veto, and the session then goes on); on WM_ENDSESSION with wParam TRUE the session really ends, so the
window procedure runs the whole Quit (finals still due, unsent audio saved as WAV, the quit line logged) before it
returns, because the process may be ended as soon as it has returned.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tray_client.events import ClientState
from tray_client.ui.tray.icons import icon_path, load_state_icon

__all__ = ["fix_backend", "is_win32", "make_dpi_aware", "watch_session_end"]

log = logging.getLogger(__name__)

DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 = -4
PROCESS_PER_MONITOR_DPI_AWARE = 2
SM_CXSMICON, SM_CYSMICON = 49, 50
WM_NULL, WM_RBUTTONUP = 0x0000, 0x0205
WM_QUERYENDSESSION, WM_ENDSESSION = 0x0011, 0x0016
ENDSESSION_LOGOFF = 0x80000000
PYSTRAY_NOTIFY = 0x0400 + 11  # pystray's own callback message (WM_USER + 11) for the icon's mouse events
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


def fix_backend(icon: Any, *, menu_lock: AbstractContextManager[Any] | None = None,
                load_image: Callable[..., Any] | None = None, metrics: Callable[[int], int] | None = None,
                post_message: Callable[[Any, int, int, int], Any] | None = None) -> None:
    """Make pystray's win32 icon load our .ico at the small-icon size, hold `menu_lock` (the menu rebuild lock)
    while its popup menu is open, and post WM_NULL after it (see the module doc); no-op elsewhere."""
    if not is_win32(icon):
        return
    _load_drawn_ico(icon, load_image, metrics)
    _guard_the_popup_menu(icon, menu_lock or contextlib.nullcontext(), post_message)


def _load_drawn_ico(icon: Any, load_image: Callable[..., Any] | None, metrics: Callable[[int], int] | None) -> None:
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


def _guard_the_popup_menu(icon: Any, menu_lock: AbstractContextManager[Any],
                          post_message: Callable[[Any, int, int, int], Any] | None) -> None:
    original = icon._message_handlers.get(PYSTRAY_NOTIFY)
    if original is None:
        log.warning("pystray's icon has no handler for its notify message; the WM_NULL menu fix is not applied")
        return

    def on_notify(wparam: int, lparam: int) -> Any:
        if lparam != WM_RBUTTONUP:
            return original(wparam, lparam)
        with menu_lock:  # a right button-up runs the whole modal menu, then the chosen action and a rebuild
            try:
                return original(wparam, lparam)
            finally:
                nonlocal post_message
                if post_message is None:
                    from pystray._util import win32

                    post_message = win32.PostMessage
                post_message(icon._hwnd, WM_NULL, 0, 0)

    icon._message_handlers[PYSTRAY_NOTIFY] = on_notify


def watch_session_end(icon: Any, *, on_query: Callable[[], None], on_end: Callable[[], None]) -> bool:
    """Answer WM_QUERYENDSESSION with TRUE after `on_query` (flush), and run `on_end` (Quit, waited for) on
    WM_ENDSESSION when the session really ends (see the module doc); False where the icon is not win32's."""
    if not is_win32(icon):
        return False

    def query(wparam: int, lparam: int) -> int:
        log.info("Windows asks whether the session may end (%s)", _why(lparam))
        try:
            on_query()
        except Exception:
            log.exception("could not prepare for the end of the session")
        return 1  # TRUE: never block a sign-out or a shutdown

    def end(wparam: int, lparam: int) -> int:
        if not wparam:
            log.info("the session goes on (another application cancelled its end)")
            return 0
        log.info("the session is ending (%s): quitting now", _why(lparam))
        try:
            on_end()
        except Exception:
            log.exception("could not quit cleanly at the end of the session")
        return 0

    icon._message_handlers[WM_QUERYENDSESSION] = query
    icon._message_handlers[WM_ENDSESSION] = end
    return True


def _why(lparam: int) -> str:
    return "sign-out" if lparam & ENDSESSION_LOGOFF else "shutdown or restart"
