"""desktop.focus on a real X display: the focused window, its app and process, and our own Tk windows (Tk sets
no _NET_WM_PID: the X server's X-Resource answer tells them)."""

from __future__ import annotations

import os

import pytest

from dictation_devtools.polling import wait_for
from tray_client.desktop.focus import current_focus, own_windows

pytestmark = [pytest.mark.desktop]


def test_the_focus_names_the_window_its_app_and_whether_it_is_ours(x_display, tk_target):
    import tkinter as tk

    tk_target.focus()
    theirs = current_focus()
    assert theirs.known and "Tk" in theirs.names and theirs.pid not in (None, os.getpid())
    assert not own_windows.owns(theirs)

    root = tk.Tk(className="Ourwindow")
    try:
        root.update()
        root.focus_force()
        assert wait_for(lambda: (root.update(), current_focus())[1].window != theirs.window, 10)
        ours = current_focus()
        assert ours.pid == os.getpid() and own_windows.owns(ours) and "Ourwindow" in ours.names
    finally:
        root.destroy()
