"""A user whose Python has no Tcl/Tk (the embeddable Python this lane runs, or a python.org install with
"tcl/tk and IDLE" unticked), with the live preview on as by default: a notification says the preview needs Tk and
how to get it, the menu shows Live preview unticked, and Settings… and History… are there (they open the web app,
which needs no Tk). Before, the preview stayed ticked showing nothing (a log line only) and Settings did nothing."""

from __future__ import annotations

import pytest

from dictation_devtools.wine.harness import poll
from tests.windows.test_menu_and_hotkeys import _menu_after_right_click

pytestmark = [pytest.mark.journey, pytest.mark.slow]


def test_without_tk_the_preview_says_so_and_the_menu_shows_the_truth(start_tray, notepad):
    tray = start_tray(overlay=True)
    tray.wait_hotkeys()
    notice = poll(lambda: [n for n in tray.notifications() if "live preview needs Tk" in n], 30,
                  what="the notification about Tk")[0]
    assert "tcl/tk and IDLE" in notice
    items = poll(lambda: (menu := _menu_after_right_click(tray, notepad))["Live preview"]["checked"] is False
                 and menu, 15, interval=0.2, what="Live preview unticked in the menu")
    assert "Settings…" in items and "History…" in items  # the web app: no Tk needed
