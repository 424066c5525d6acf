"""The X11 grab never outlives the keyboard listener: a grab without a listener would swallow the hotkey
system-wide (the key never reaches any window, and nothing acts on it)."""

from __future__ import annotations

import pytest

from dictation_devtools.polling import wait_for
from tray_client.hotkeys import HotkeyError, HotkeyListener, parse_hotkey
from tray_client.hotkeys._x11 import unblock_listener

pytestmark = [pytest.mark.desktop]

SPEC = "<ctrl>+<f7>"


def grabbed_by_someone_else(display_name: str) -> bool:
    """Whether another client holds a passive grab on ctrl+F7 (our own grab attempt then fails with BadAccess)."""
    from Xlib import XK, X, display, error

    probe = display.Display(display_name)
    errors: list[object] = []
    probe.set_error_handler(lambda err, *_: errors.append(err))
    try:
        keycode = probe.keysym_to_keycode(XK.string_to_keysym("F7"))
        probe.screen().root.grab_key(keycode, X.ControlMask, True, X.GrabModeAsync, X.GrabModeAsync)
        probe.sync()
        return any(isinstance(err, error.BadAccess) for err in errors)
    finally:
        probe.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the failure is the point
def test_a_listener_that_fails_to_start_leaves_no_grab(x_display, monkeypatch):
    import pynput.keyboard

    class DyingListener(pynput.keyboard.Listener):
        def _run(self) -> None:  # the hook cannot be installed (e.g. RECORD missing)
            raise RuntimeError("no RECORD extension")

    monkeypatch.setattr(pynput.keyboard, "Listener", DyingListener)
    listener = HotkeyListener({"toggle": parse_hotkey(SPEC, "hotkey_toggle")}, print, print)
    with pytest.raises(HotkeyError, match="listener"):
        listener.start()
    assert not grabbed_by_someone_else(x_display.name)


def test_a_listener_that_dies_later_releases_the_grab_and_says_so(x_display):
    lost: list[str] = []
    listener = HotkeyListener({"toggle": parse_hotkey(SPEC, "hotkey_toggle")}, print, print, on_lost=lost.append)
    listener.start()
    try:
        assert grabbed_by_someone_else(x_display.name)
        pynput_thread = listener._listener  # it ends without our stop(), as when its X connection breaks
        pynput_thread.stop()
        unblock_listener(pynput_thread)
        assert wait_for(lambda: not grabbed_by_someone_else(x_display.name), timeout=5.0)
        assert lost and "listener stopped" in lost[0]
    finally:
        listener.stop()
