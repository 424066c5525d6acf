"""The Linux tray through GTK, as a user of a desktop with an XEmbed tray gets it: a menu on right-click (Quit in
it works), a tooltip on hover, and an icon drawn with its transparency (not on a black square).

The app chooses its backend itself here (no PYSTRAY_BACKEND), with PyGObject from the distribution's python3-gi
as scripts/start.sh sets it up. trayer is an XEmbed tray, not a StatusNotifier host, so the app must pick GTK's
StatusIcon; AppIndicator, which needs a StatusNotifier host, is not tested here (no such host runs on Xvfb).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from dictation_devtools.desktop import XDisplay
from dictation_devtools.polling import wait_for
from tests.desktop.tray_harness import TrayProcess, start_tray, xrun
from tests.journeys._linux_tray_support import gi_for_the_app, menu_opened, session_bus, visible_windows
from tray_client.events import ClientState

pytestmark = [pytest.mark.desktop]
__all__ = ["session_bus"]  # the fixture, used by name


def start_gtk_tray(x_display: XDisplay, tmp_path: Path, bus: str) -> TrayProcess:
    extra = {"DBUS_SESSION_BUS_ADDRESS": bus}
    gi_path = gi_for_the_app(tmp_path)
    if gi_path:
        extra["PYTHONPATH"] = f"{Path(__file__).resolve().parents[2]}:{gi_path}"
    tray = start_tray(x_display, tmp_path / "home", "--server", "ws://127.0.0.1:9", "--no-overlay",
                      backend=None, extra_env=extra)
    tray.find_icon()
    return tray


def test_the_gtk_tray_has_a_menu_whose_quit_works_a_tooltip_and_a_transparent_icon(x_display, tmp_path,
                                                                                      session_bus):
    tray = start_gtk_tray(x_display, tmp_path, session_bus)
    try:
        assert "tray backend: gtk" in tray.log_text(), tray.log_text()[-3000:]
        assert wait_for(lambda: tray.title().startswith("Dictation: "), 60), tray.title()
        assert wait_for(lambda: tray.geometry()[2] > 8, 60), tray.geometry()  # laid out by trayer

        # Transparent: the icon's corners show the tray's own background (beside the icon), not a black square.
        screen = tray.screenshot(tmp_path / "tray.png")
        x, y, width, height_px = tray.geometry()
        panel = screen.getpixel((x - 2, y + height_px // 2))
        assert sum(panel) > 3 * 64, panel  # the panel is not black itself, so black corners would show
        icon = tray.icon_pixels(screen)
        for corner in ((0, 0), (icon.width - 1, 0), (0, icon.height - 1), (icon.width - 1, icon.height - 1)):
            pixel = icon.getpixel(corner)
            assert all(abs(a - b) <= 16 for a, b in zip(pixel, panel, strict=True)), (corner, pixel, panel)

        # A tooltip on hover: GTK opens its tooltip window over the icon.
        before = visible_windows(x_display)
        xrun(x_display, "xdotool", "mousemove", str(x + width // 2), str(y + height_px // 2))
        assert wait_for(lambda: visible_windows(x_display) - before, 30), "no tooltip appeared on hover"

        # The menu on right-click: a tall popup with every item; its last item, Quit, ends the app.
        before = visible_windows(x_display)
        xrun(x_display, "xdotool", "click", "3")
        assert wait_for(lambda: menu_opened(x_display, before), 30), "no menu appeared on right-click"
        tray.key("Up")  # from the top, Up wraps to the last item
        tray.key("Return")
        assert tray.process.wait(60) == 0, tray.log_text()[-3000:]
        assert "quit took" in tray.log_text()
    finally:
        tray.close()


def test_ctrl_c_ends_the_gtk_tray_through_its_quit_path(x_display, tmp_path, session_bus):
    """pystray's GTK start put SIGINT back to the default: Ctrl+C in the terminal killed the app on the spot, with
    no flush of held audio and no quit line in the log."""
    tray = start_gtk_tray(x_display, tmp_path, session_bus)
    try:
        tray.wait_state(ClientState.DISCONNECTED, 60)  # started: the controller runs
        tray.process.send_signal(signal.SIGINT)
        assert tray.process.wait(60) == 0, tray.log_text()[-3000:]
        assert "quit took" in tray.log_text()
    finally:
        tray.close()
