"""A command's keys as each platform sends them: Windows virtual-key events, xdotool key names."""

from __future__ import annotations

from tray_client.sinks._win32_input import (
    KEYEVENTF_EXTENDEDKEY,
    KEYEVENTF_KEYUP,
    VK_BACK,
    VK_CONTROL,
    VK_INSERT,
    VK_RETURN,
    VK_SHIFT,
    VK_V,
    paste_events,
    press_events,
)
from tray_client.sinks.keys import PASTE_KEYS, XDOTOOL_KEYS, XDOTOOL_PASTE, Key


def downs_and_ups(events):
    return [(vk, "up" if flags & KEYEVENTF_KEYUP else "down") for vk, _scan, flags in events]


def test_windows_line_break_is_shift_enter_and_enter_is_enter():
    assert downs_and_ups(press_events("newline")) == [(VK_SHIFT, "down"), (VK_RETURN, "down"), (VK_RETURN, "up"),
                                                     (VK_SHIFT, "up")]
    assert downs_and_ups(press_events("enter")) == [(VK_RETURN, "down"), (VK_RETURN, "up")]
    assert downs_and_ups(press_events("backspace", 3)) == [(VK_BACK, "down"), (VK_BACK, "up")] * 3


def test_windows_paste_chords():
    assert downs_and_ups(paste_events()) == [(VK_CONTROL, "down"), (VK_V, "down"), (VK_V, "up"), (VK_CONTROL, "up")]
    assert downs_and_ups(paste_events("ctrl+shift+v")) == [
        (VK_CONTROL, "down"), (VK_SHIFT, "down"), (VK_V, "down"), (VK_V, "up"), (VK_SHIFT, "up"), (VK_CONTROL, "up")]
    insert = paste_events("shift+insert")
    assert downs_and_ups(insert)[1:3] == [(VK_INSERT, "down"), (VK_INSERT, "up")]
    assert all(flags & KEYEVENTF_EXTENDEDKEY for vk, _s, flags in insert if vk == VK_INSERT)


def test_every_key_and_paste_chord_has_an_x11_name():
    assert set(XDOTOOL_KEYS) == set(Key) and set(XDOTOOL_PASTE) == set(PASTE_KEYS)
    assert XDOTOOL_KEYS[Key.NEWLINE] == "shift+Return"
