"""Problems the user must fix reach them as clear messages: a hotkey that cannot be parsed or registered, and a
missing microphone (a tray notification, logged as "notification: ..." because Xvfb has no notification daemon)."""

from __future__ import annotations

import pytest

from dictation_devtools.polling import wait_for
from tests.desktop.tray_harness import start_tray
from tray_client.events import ClientState
from tray_client.hotkeys import HotkeyError, HotkeyListener, parse_hotkey

pytestmark = [pytest.mark.desktop]


def test_a_hotkey_another_program_grabbed_is_refused_with_a_clear_message(x_display):
    from Xlib import XK, X, display

    other = display.Display(x_display.name)  # another application holding ctrl+F9
    try:
        keycode = other.keysym_to_keycode(XK.string_to_keysym("F9"))
        other.screen().root.grab_key(keycode, X.ControlMask, True, X.GrabModeAsync, X.GrabModeAsync)
        other.sync()
        listener = HotkeyListener({"toggle": parse_hotkey("<ctrl>+<f9>", "hotkey_toggle")}, print, print)
        with pytest.raises(HotkeyError) as caught:
            listener.start()
        message = str(caught.value)
        assert "<ctrl>+<f9>" in message and "already taken by another application" in message
        assert "hotkey_toggle" in message  # which setting to change
    finally:
        other.close()
    # Once the other program lets go, the same hotkey registers.
    listener = HotkeyListener({"toggle": parse_hotkey("<ctrl>+<f9>", "hotkey_toggle")}, print, print)
    listener.start()
    listener.stop()


def test_bad_hotkey_and_missing_microphone_are_notified_and_the_tray_keeps_running(x_display, tmp_path):
    tray = start_tray(x_display, tmp_path / "tray-home", "--server", "ws://127.0.0.1:9", "--start-listening",
                      "--input-device", "no such microphone", "--hotkey-toggle", "<ctrl>+<banana>")
    try:
        tray.find_icon()
        tray.wait_state(ClientState.ERROR, 60)
        assert "not found" in tray.title()  # the tooltip says what is wrong
        assert wait_for(lambda: "notification: Hotkeys are off: hotkey_toggle = '<ctrl>+<banana>'"
                        in tray.log_text(), 5), tray.log_text()[-3000:]
        assert "notification: microphone 'no such microphone' not found" in tray.log_text()
        assert tray.quit() < 5
    finally:
        tray.close()
