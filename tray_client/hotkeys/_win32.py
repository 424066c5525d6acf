"""Windows backend of the hotkeys: virtual keys to tokens, and the low-level hook's event filter.

pynput runs a WH_KEYBOARD_LL hook and calls `win32_event_filter(msg, KBDLLHOOKSTRUCT)` for every key event
before its own callbacks. `EventFilter` is that filter. It
- lets injected events through untouched and unseen by the chords: SendInput events (ours, when we type a
  final, or another program's) carry LLKHF_INJECTED / LLKHF_LOWER_IL_INJECTED. Without this, typing "add"
  while the user held Ctrl+Alt fired the Ctrl+Alt+D toggle (found under Wine);
- swallows the hotkey's own key so the focused window never sees it (a suppressed event never reaches
  pynput's callbacks, so the chords are fed here);
- asks Windows which modifiers are really down before each key-down (GetAsyncKeyState) and resyncs the
  chords: the hook never sees the Win key's release after Win+L, nor keys released on a UAC prompt's secure
  desktop, and a modifier believed held would leave every hotkey dead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tray_client._win32_keys import MODIFIER_VKS, held_modifiers
from tray_client.hotkeys.chords import ChordTracker

__all__ = ["EventFilter", "mask_modifier_release", "vk_token"]

log = logging.getLogger(__name__)

WM_KEYDOWN, WM_SYSKEYDOWN = 0x0100, 0x0104
LLKHF_LOWER_IL_INJECTED = 0x02
LLKHF_INJECTED = 0x10

_VK_TOKENS = {
    0x10: "shift", 0xA0: "shift", 0xA1: "shift", 0x11: "ctrl", 0xA2: "ctrl", 0xA3: "ctrl",
    0x12: "alt", 0xA4: "alt", 0xA5: "alt", 0x5B: "cmd", 0x5C: "cmd",
    0x20: "space", 0x0D: "enter", 0x1B: "esc", 0x09: "tab", 0x08: "backspace", 0x2E: "delete",
    0x2D: "insert", 0x24: "home", 0x23: "end", 0x21: "page_up", 0x22: "page_down", 0x26: "up", 0x28: "down",
    0x25: "left", 0x27: "right", 0x13: "pause", 0x2C: "print_screen", 0x91: "scroll_lock", 0x5D: "menu",
    0x14: "caps_lock", 0x90: "num_lock",
    0xBA: ";", 0xBB: "=", 0xBC: ",", 0xBD: "-", 0xBE: ".", 0xBF: "/", 0xC0: "`", 0xDB: "[", 0xDC: "\\",
    0xDD: "]", 0xDE: "'",
}
_VK_MASK = 0xE8
"""An unassigned virtual key: tapping it tells Windows the held Alt/Win key was used in a combination."""


def vk_token(vk: int) -> str | None:
    """Windows virtual-key code to token (US layout for punctuation)."""
    if 0x30 <= vk <= 0x39 or 0x41 <= vk <= 0x5A:
        return chr(vk).lower()
    if 0x70 <= vk <= 0x87:
        return f"f{vk - 0x6F}"
    return _VK_TOKENS.get(vk)


def mask_modifier_release() -> None:
    """Windows opens the Start menu when Win is released, and the window's menu bar when Alt is, if no other key
    was seen in between; the hotkey's own key was swallowed, so tap an unassigned key (as AutoHotkey does)."""
    import ctypes

    keyup = 0x0002  # KEYEVENTF_KEYUP
    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    user32.keybd_event(_VK_MASK, 0, 0, 0)
    user32.keybd_event(_VK_MASK, 0, keyup, 0)


class EventFilter:
    """pynput's `win32_event_filter` (see the module doc): returns False for an event it swallowed."""

    def __init__(
        self,
        tracker: ChordTracker,
        modifiers_of: Callable[[str], frozenset[str]],
        emit: Callable[[str, bool], None],
        suppress: Callable[[], None],
        *,
        os_modifiers: Callable[[], frozenset[str]] = held_modifiers,
        mask_release: Callable[[], None] = mask_modifier_release,
    ) -> None:
        self._tracker = tracker
        self._modifiers_of = modifiers_of
        self._emit = emit  # (hotkey name, down)
        self._suppress = suppress
        self._os_modifiers = os_modifiers
        self._mask_release = mask_release

    def __call__(self, msg: int, data: Any) -> bool:
        if data.flags & (LLKHF_INJECTED | LLKHF_LOWER_IL_INJECTED):
            return True  # synthesized input: never a hotkey, and never swallowed
        token = vk_token(data.vkCode)
        if token is None:
            return True
        is_down = msg in (WM_KEYDOWN, WM_SYSKEYDOWN)
        if is_down and token not in MODIFIER_VKS:
            for name in self._tracker.resync(self._os_modifiers()):
                self._emit(name, False)
        if self._tracker.would_fire(token) is None:
            return True
        if is_down:
            for name in self._tracker.press(token):
                if self._modifiers_of(name) & {"alt", "cmd"}:
                    self._mask_release()
                self._emit(name, True)
        else:
            for name in self._tracker.release(token):
                self._emit(name, False)
        self._suppress()
        return False
