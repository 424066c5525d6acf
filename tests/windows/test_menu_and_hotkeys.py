"""The tray menu's check marks and the global hotkeys, under Wine.

The user's keys are pressed through the X server (xdotool on Xvfb): Wine's X11 driver turns them into hardware
input, so the low-level keyboard hook sees them without LLKHF_INJECTED, as from a physical keyboard. Keys sent by
another program (the agent's SendInput) arrive with LLKHF_INJECTED set, under Wine exactly as on Windows; the
hotkeys must ignore those. A click on the icon is the callback message the shell posts to pystray's window.
"""

from __future__ import annotations

from tests.windows.conftest import PHRASES
from tests.windows.harness import focus_notepad, poll, xdotool

VK_ESCAPE, VK_CONTROL, VK_MENU, VK_D = 0x1B, 0x11, 0x12, 0x44


def _menu_after_right_click(tray, agent) -> dict[str, dict]:
    """Right-click the icon, read the menu Windows shows (from its HMENU), close it with Escape."""
    shown = len(tray.menus())
    assert agent.call("tray_click", button="right") > 0
    items = poll(lambda: tray.menus()[shown:], 10, what="the popup menu")[0]

    def closed() -> bool:
        if tray.menus_closed() > shown:
            return True
        if agent.call("menu_windows"):
            agent.call("send_keys", events=[[VK_ESCAPE, True], [VK_ESCAPE, False]])
        return False

    poll(closed, 10, interval=0.2, what="the menu to close")
    return {item["text"]: item for item in items}


def _wait_tip(tray, prefix: str, after: int = 0) -> None:
    poll(lambda: any(tip.startswith(prefix) for tip in tray.tips()[after:]), 20, what=f"tooltip {prefix!r}")


def test_toggle_mode_hotkey_starts_and_stops_a_recording(start_tray, notepad, phrases, wine_lane):
    tray = start_tray(mode="toggle")
    tray.wait_hotkeys()
    focus_notepad(wine_lane.display)
    xdotool(wine_lane.display, "key", "ctrl+alt+d")
    _wait_tip(tray, "Dictation: hearing speech")
    tray.say("cjk", phrases["cjk"].audio.tobytes() + bytes(2 * 16_000 * 6 // 10))
    tray.wait_spoken()
    xdotool(wine_lane.display, "key", "ctrl+alt+d")
    poll(lambda: notepad.call("notepad_text") == PHRASES["cjk"], 30, what="the phrase typed after the second press")
