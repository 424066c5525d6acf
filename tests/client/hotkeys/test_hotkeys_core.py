"""The hotkeys' platform-free logic: injected events, missed key-ups, Right Alt, and the win32 hook's filter.

The Windows filter runs here with a fake KBDLLHOOKSTRUCT and a fake GetAsyncKeyState: the only win32 calls it
makes. The real hook under Wine is covered by tests/windows."""

from __future__ import annotations

from types import SimpleNamespace

from tray_client._win32_keys import held_modifiers
from tray_client.hotkeys import ChordTracker, HotkeyListener, parse_hotkey
from tray_client.hotkeys._win32 import LLKHF_INJECTED, WM_KEYDOWN, EventFilter
from tray_client.hotkeys.listener import pynput_token

WM_KEYUP = 0x0101
VK = {"ctrl": 0xA2, "alt": 0xA4, "ralt": 0xA5, "lwin": 0x5B, "d": 0x44, "l": 0x4C, "space": 0x20}
BINDINGS = {"push_to_talk": parse_hotkey("<ctrl>+<alt>+space"), "toggle": parse_hotkey("<ctrl>+<alt>+d")}


class Keyboard:
    """Drives an EventFilter like Windows' low-level hook, keeping the async key state Windows would report."""

    def __init__(self) -> None:
        self.tracker = ChordTracker(BINDINGS)
        self.down: set[int] = set()
        self.events: list[tuple[str, bool]] = []
        self.swallowed: list[int] = []
        self.filter = EventFilter(
            self.tracker, lambda name: BINDINGS[name].modifiers, lambda name, down: self.events.append((name, down)),
            lambda: None, os_modifiers=lambda: held_modifiers(lambda vk: 0x8000 if vk in self.down else 0),
            mask_release=lambda: None,
        )

    def key(self, name: str, down: bool, *, injected: bool = False, seen: bool = True) -> None:
        """One key event. `seen=False`: Windows changed the key state but the hook never saw it (Win+L)."""
        vk = VK[name]
        if seen:
            data = SimpleNamespace(vkCode=vk, flags=LLKHF_INJECTED if injected else 0)
            passed = self.filter(WM_KEYDOWN if down else WM_KEYUP, data)
            if passed and not injected:  # pynput's own callback path for events the filter let through
                token = "alt" if name in ("alt", "ralt") else ("cmd" if name == "lwin" else name)
                if token in ("ctrl", "alt", "cmd"):
                    (self.tracker.press if down else self.tracker.release)(token)
            if not passed:
                self.swallowed.append(vk)
        # The async key state changes after the hook returned (and also for events the hook never saw).
        (self.down.add if down else self.down.discard)(vk)

    def chord(self, *names: str, injected: bool = False) -> None:
        for name in names:
            self.key(name, True, injected=injected)
        for name in reversed(names):
            self.key(name, False, injected=injected)


def test_injected_keys_never_fire_a_hotkey_and_are_never_swallowed():
    keyboard = Keyboard()
    keyboard.key("ctrl", True)
    keyboard.key("alt", True)  # the user holds Ctrl+Alt while a final "add" is typed by SendInput
    for _ in range(2):
        keyboard.key("d", True, injected=True)
        keyboard.key("d", False, injected=True)
    assert keyboard.events == []
    assert keyboard.swallowed == []
    keyboard.key("d", True)  # the user's own D still works
    assert keyboard.events == [("toggle", True)]
    assert keyboard.swallowed == [VK["d"]]


def test_a_missed_win_key_up_after_win_l_does_not_leave_the_hotkeys_dead():
    keyboard = Keyboard()
    keyboard.key("lwin", True)
    keyboard.key("l", True)
    keyboard.key("l", False, seen=False)  # the lock screen has the keyboard now
    keyboard.key("lwin", False, seen=False)
    keyboard.chord("ctrl", "alt", "d")
    assert keyboard.events == [("toggle", True), ("toggle", False)]


def test_right_alt_counts_as_alt():
    keyboard = Keyboard()
    keyboard.chord("ctrl", "ralt", "space")
    assert keyboard.events == [("push_to_talk", True), ("push_to_talk", False)]
    assert pynput_token(SimpleNamespace(name="alt_gr")) == "alt"  # pynput's name for Right Alt


def test_the_listener_ignores_events_pynput_marks_injected():
    events: list[tuple[str, str]] = []
    listener = HotkeyListener(BINDINGS, lambda n: events.append(("down", n)), lambda n: events.append(("up", n)))
    ctrl, alt, d = (SimpleNamespace(name="ctrl_l"), SimpleNamespace(name="alt_l"), SimpleNamespace(char="d"))
    listener._on_press(ctrl)
    listener._on_press(alt)
    listener._on_press(d, True)  # pynput passes injected=True for SendInput / XSendEvent events
    listener._on_release(d, True)
    assert events == []
    listener._on_press(d)
    listener._on_release(d)
    assert events == [("down", "toggle"), ("up", "toggle")]


def test_resync_releases_only_modifiers_the_os_reports_up():
    chords = ChordTracker(BINDINGS)
    for token in ("ctrl", "alt", "space"):
        chords.press(token)
    assert chords.resync(frozenset({"ctrl"})) == ["push_to_talk"]  # Alt's key-up was missed
    assert chords.resync(frozenset({"ctrl", "shift"})) == []


def test_on_an_altgr_layout_the_x11_grab_also_takes_right_alt():
    from tray_client.hotkeys._x11 import grab_masks

    control, mod1, mod5 = 1 << 2, 1 << 3, 1 << 7
    masks = {"ctrl": control, "alt": mod1, "shift": 1, "cmd": 1 << 6, "alt_gr": mod5}
    toggle = BINDINGS["toggle"].modifiers  # ctrl+alt
    assert sorted(grab_masks(toggle, masks)) == sorted([control | mod1, control | mod5])
    assert grab_masks(frozenset({"ctrl"}), masks) == [control]
    assert grab_masks(toggle, {**masks, "alt_gr": mod1}) == [control | mod1]  # US layout: Right Alt is Mod1
    assert grab_masks(toggle, {**masks, "alt_gr": control}) == [control | mod1]  # never a bit already in use
