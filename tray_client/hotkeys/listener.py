"""Global hotkeys: push-to-talk (hold) and toggle, in pynput's `<ctrl>+<alt>+x` syntax, never typed into the app.

Three layers, so the logic is testable without a keyboard:
- `parse_hotkey` turns a spec into a `Hotkey` (modifiers plus one key, as plain tokens). Pure.
- `ChordTracker` turns a stream of key-down/up tokens into hotkey down/up transitions. Pure.
- `HotkeyListener` runs a pynput keyboard listener on its own thread, feeds the tracker, and calls `on_down`
  / `on_up` there. It also keeps the hotkey's key from reaching the focused window: on X11 with a passive
  grab (XGrabKey) on the root window, on Windows with pynput's `win32_event_filter`. pynput's GlobalHotKeys
  does neither, which is why this module exists.

Thread map (see app.py): the pynput listener thread calls the callbacks; on X11 one more thread owns the Xlib
connection that holds the grabs and only drains it. Both are stopped by `HotkeyListener.stop()`.
"""

from __future__ import annotations

import contextlib
import logging
import select
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ChordTracker", "Hotkey", "HotkeyError", "HotkeyListener", "parse_hotkey"]

log = logging.getLogger(__name__)

MODIFIERS = ("ctrl", "alt", "shift", "cmd")
_MODIFIER_ALIASES = {
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl", "control": "ctrl",
    "alt": "alt", "alt_l": "alt", "alt_r": "alt",
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
    "cmd": "cmd", "cmd_l": "cmd", "cmd_r": "cmd", "super": "cmd", "win": "cmd",
}
_NAMED_KEYS = frozenset(
    ["space", "enter", "esc", "tab", "backspace", "delete", "insert", "home", "end", "page_up", "page_down",
     "up", "down", "left", "right", "pause", "print_screen", "scroll_lock", "menu", "caps_lock", "num_lock"]
    + [f"f{number}" for number in range(1, 25)]
)
_KEY_ALIASES = {"return": "enter", "escape": "esc", "del": "delete", "pgup": "page_up", "pgdn": "page_down"}
SYNTAX_HELP = (
    "write it as modifiers and one key joined by '+', e.g. '<ctrl>+<alt>+d' or '<ctrl>+<shift>+<f9>'; "
    f"modifiers: {', '.join(f'<{m}>' for m in MODIFIERS)}; keys: a single character or one of "
    "<space>, <enter>, <tab>, <esc>, <f1>..<f24>, <home>, <end>, <insert>, <delete>, <page_up>, <page_down>, "
    "<up>, <down>, <left>, <right>, <pause>, <print_screen>, <scroll_lock>, <menu>"
)


class HotkeyError(ValueError):
    """A hotkey that cannot be parsed or registered; the message names the setting and how to fix it."""


@dataclass(frozen=True)
class Hotkey:
    """A parsed hotkey: zero or more modifiers and exactly one other key (a character or a named key)."""

    spec: str
    modifiers: frozenset[str]
    key: str

    def __str__(self) -> str:
        return self.spec


def parse_hotkey(spec: str, setting: str = "hotkey") -> Hotkey:
    """Parse `<ctrl>+<alt>+d`-style text; raise HotkeyError naming `setting` when it is not a usable hotkey.

    Accepts pynput's syntax plus two leniencies people type anyway: bare names of named keys (`space`,
    `f9`) and any letter case. Exactly one non-modifier key is required, because that key is what gets
    grabbed so it never reaches the focused window.
    """
    text = spec.strip()
    if not text:
        raise HotkeyError(f"{setting} is empty; {SYNTAX_HELP}")
    parts = _split_parts(text)
    if parts is None:
        raise HotkeyError(f"{setting} = {spec!r} is not a key combination; {SYNTAX_HELP}")
    modifiers: set[str] = set()
    keys: list[str] = []
    for part in parts:
        token = _part_token(part)
        if token is None:
            raise HotkeyError(f"{setting} = {spec!r}: {part!r} is not a key pynput knows; {SYNTAX_HELP}")
        if token in _MODIFIER_ALIASES.values():
            if token in modifiers:
                raise HotkeyError(f"{setting} = {spec!r} names <{token}> twice; {SYNTAX_HELP}")
            modifiers.add(token)
        else:
            keys.append(token)
    if len(keys) != 1:
        found = "no key besides the modifiers" if not keys else f"{len(keys)} keys ({', '.join(keys)})"
        raise HotkeyError(f"{setting} = {spec!r} has {found}; it needs exactly one; {SYNTAX_HELP}")
    return Hotkey(spec=text, modifiers=frozenset(modifiers), key=keys[0])


def _split_parts(text: str) -> list[str] | None:
    """Split on '+', allowing '+' itself as the last key ('<ctrl>++')."""
    parts: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char == "+" and index != start:
            parts.append(text[start:index])
            start = index + 1
    if start == len(text):
        return None
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _part_token(part: str) -> str | None:
    if len(part) == 1:
        return part.lower()
    name = part[1:-1] if len(part) > 2 and part[0] == "<" and part[-1] == ">" else part
    name = name.strip().lower()
    name = _KEY_ALIASES.get(name, name)
    if name in _MODIFIER_ALIASES:
        return _MODIFIER_ALIASES[name]
    if name in _NAMED_KEYS:
        return name
    return None


class ChordTracker:
    """Turn key-down/up tokens into hotkey down/up transitions.

    A hotkey is down while exactly its modifiers and its key are held (extra modifiers mean another
    shortcut, e.g. ctrl+alt+shift+d is not ctrl+alt+d). It goes up as soon as its key or one of its
    modifiers is released. Repeated key-downs (auto-repeat) do not fire again.
    """

    def __init__(self, hotkeys: Mapping[str, Hotkey]) -> None:
        self._hotkeys = dict(hotkeys)
        self._held: set[str] = set()
        self._active: set[str] = set()

    @property
    def active(self) -> frozenset[str]:
        """The names of the hotkeys that are down now."""
        return frozenset(self._active)

    def would_fire(self, token: str) -> str | None:
        """The hotkey that pressing `token` now would activate (or that holds `token` as its key)."""
        held_modifiers = self._held & set(MODIFIERS)
        for name, hotkey in self._hotkeys.items():
            if hotkey.key == token and (name in self._active or held_modifiers == hotkey.modifiers):
                return name
        return None

    def press(self, token: str) -> list[str]:
        """Record a key-down; return the hotkeys that went down because of it."""
        if token in self._held:
            return []
        self._held.add(token)
        fired = []
        held_modifiers = self._held & set(MODIFIERS)
        for name, hotkey in self._hotkeys.items():
            if name not in self._active and token == hotkey.key and held_modifiers == hotkey.modifiers:
                self._active.add(name)
                fired.append(name)
        return fired

    def release(self, token: str) -> list[str]:
        """Record a key-up; return the hotkeys that went up because of it."""
        self._held.discard(token)
        ended = []
        for name in sorted(self._active):
            hotkey = self._hotkeys[name]
            if token == hotkey.key or token in hotkey.modifiers:
                self._active.discard(name)
                ended.append(name)
        return ended

    def release_all(self) -> list[str]:
        """Forget every held key (listener stopping); return the hotkeys that were down."""
        ended = sorted(self._active)
        self._held.clear()
        self._active.clear()
        return ended


def pynput_token(key: Any) -> str | None:
    """The token of a pynput Key/KeyCode, or None for keys no hotkey can name."""
    name = getattr(key, "name", None)
    if name is not None:  # a pynput.keyboard.Key member
        name = name.lower()
        return _MODIFIER_ALIASES.get(name, name)
    char = getattr(key, "char", None)
    if char:
        return char.lower()
    vk = getattr(key, "vk", None)
    if vk is not None:
        return _vk_token(vk) if sys.platform == "win32" else _x11_keysym_token(vk)
    return None


class HotkeyListener:
    """Watch the keyboard for the bound hotkeys; call `on_down(name)` / `on_up(name)` on the listener thread.

    `start()` raises HotkeyError when a hotkey cannot be registered (another application grabbed it, or no
    keyboard hook is possible). The callbacks must be quick and thread-safe (the app posts commands to the
    pipeline and returns).
    """

    def __init__(
        self,
        bindings: Mapping[str, Hotkey],
        on_down: Callable[[str], None],
        on_up: Callable[[str], None],
    ) -> None:
        specs = {(hotkey.modifiers, hotkey.key): name for name, hotkey in bindings.items()}
        if len(specs) != len(bindings):
            raise HotkeyError(
                "two hotkey settings use the same keys ("
                + ", ".join(f"{name}={hotkey.spec}" for name, hotkey in bindings.items())
                + "); give each its own combination"
            )
        self._bindings = dict(bindings)
        self._on_down = on_down
        self._on_up = on_up
        self._tracker = ChordTracker(self._bindings)
        self._listener: Any = None
        self._grab: _X11KeyGrab | None = None

    def start(self) -> None:
        """Register the grabs and start the listener thread."""
        from pynput import keyboard  # lazy: pynput needs a display at import time

        if _is_x11():
            self._grab = _X11KeyGrab(self._bindings.values())
            self._grab.start()
        options: dict[str, Any] = {}
        if sys.platform == "win32":
            options["win32_event_filter"] = self._win32_filter
        listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release, **options)
        listener.name = "hotkeys"
        listener.daemon = True
        self._listener = listener  # before start: the win32 filter may run at once and needs it
        listener.start()
        listener.wait()
        log.info("hotkeys registered: %s", ", ".join(f"{n}={h.spec}" for n, h in self._bindings.items()))

    def stop(self) -> None:
        """Stop listening, release the grabs, and report any hotkey still held as released."""
        if self._listener is not None:
            self._listener.stop()
            if _is_x11():
                _x11_unblock_listener(self._listener)
            self._listener.join(timeout=1.0)
            self._listener = None
        if self._grab is not None:
            self._grab.stop()
            self._grab = None
        for name in self._tracker.release_all():
            self._emit(self._on_up, name)

    def _on_press(self, key: Any, injected: bool = False) -> None:
        token = pynput_token(key)
        if token is not None:
            for name in self._tracker.press(token):
                self._emit(self._on_down, name)

    def _on_release(self, key: Any, injected: bool = False) -> None:
        token = pynput_token(key)
        if token is not None:
            for name in self._tracker.release(token):
                self._emit(self._on_up, name)

    def _emit(self, callback: Callable[[str], None], name: str) -> None:
        try:
            callback(name)
        except Exception:  # a failing callback must not kill the keyboard hook
            log.exception("hotkey %s callback failed", name)

    def _win32_filter(self, msg: int, data: Any) -> bool:
        """Windows: swallow the hotkey's own key so the focused window never sees it.

        A suppressed event never reaches pynput's callbacks, so the tracker is fed here for those.
        """
        token = _vk_token(data.vkCode)
        if token is None or self._tracker.would_fire(token) is None:
            return True
        is_down = msg in (0x0100, 0x0104)  # WM_KEYDOWN, WM_SYSKEYDOWN
        if is_down:
            for name in self._tracker.press(token):
                if self._bindings[name].modifiers & {"alt", "cmd"}:
                    _win32_mask_modifier_release()
                self._emit(self._on_down, name)
        else:
            for name in self._tracker.release(token):
                self._emit(self._on_up, name)
        self._listener.suppress_event()
        return False


def _is_x11() -> bool:
    import os

    return sys.platform.startswith("linux") and bool(os.environ.get("DISPLAY"))


# --- Windows: virtual-key codes to tokens -------------------------------------------------------------------

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


def _win32_mask_modifier_release() -> None:
    """Windows opens the Start menu when Win is released, and the window's menu bar when Alt is, if no other key
    was seen in between; the hotkey's own key was swallowed, so tap an unassigned key (as AutoHotkey does)."""
    import ctypes

    keyup = 0x0002  # KEYEVENTF_KEYUP
    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    user32.keybd_event(_VK_MASK, 0, 0, 0)
    user32.keybd_event(_VK_MASK, 0, keyup, 0)


def _vk_token(vk: int) -> str | None:
    """Windows virtual-key code to token (US layout for punctuation)."""
    if 0x30 <= vk <= 0x39 or 0x41 <= vk <= 0x5A:
        return chr(vk).lower()
    if 0x70 <= vk <= 0x87:
        return f"f{vk - 0x6F}"
    return _VK_TOKENS.get(vk)


# --- X11: keysyms and passive grabs -------------------------------------------------------------------------

_X11_KEYSYM_NAMES = {
    "space": "space", "enter": "Return", "esc": "Escape", "tab": "Tab", "backspace": "BackSpace",
    "delete": "Delete", "insert": "Insert", "home": "Home", "end": "End", "page_up": "Prior",
    "page_down": "Next", "up": "Up", "down": "Down", "left": "Left", "right": "Right", "pause": "Pause",
    "print_screen": "Print", "scroll_lock": "Scroll_Lock", "menu": "Menu", "caps_lock": "Caps_Lock",
    "num_lock": "Num_Lock", **{f"f{n}": f"F{n}" for n in range(1, 25)},
}
_X11_MODIFIER_KEYSYMS = {
    "ctrl": ("Control_L", "Control_R"),
    "alt": ("Alt_L", "Alt_R", "Meta_L", "Meta_R"),
    "shift": ("Shift_L", "Shift_R"),
    "cmd": ("Super_L", "Super_R"),
}


def _x11_keysym_token(vk: int) -> str | None:
    """pynput on X11 reports some keys by keysym only; map the named ones back to tokens."""
    from Xlib import XK

    for token, keysym_name in _X11_KEYSYM_NAMES.items():
        if XK.string_to_keysym(keysym_name) == vk:
            return token
    if 0x20 < vk < 0x100:
        return chr(vk).lower()
    return None


def _x11_unblock_listener(listener: Any) -> None:
    """pynput's X11 listener stays blocked in RECORD until the next key event after stop(); disabling the
    record context from its control connection and flushing ends it at once."""
    with contextlib.suppress(Exception):
        listener._display_stop.record_disable_context(listener._context)
        listener._display_stop.flush()


def x11_keysym(token: str) -> int:
    """The X keysym of a non-modifier token (Latin-1 characters are their own keysyms)."""
    from Xlib import XK

    if token in _X11_KEYSYM_NAMES:
        return XK.string_to_keysym(_X11_KEYSYM_NAMES[token])
    if len(token) == 1:
        keysym = XK.string_to_keysym(token)
        return keysym or (ord(token) if ord(token) < 0x100 else 0x01000000 | ord(token))
    raise HotkeyError(f"no X11 keysym for key {token!r}")


class _X11KeyGrab:
    """Passive grabs (XGrabKey) on the root window, so the focused window never receives a hotkey.

    The grabs live as long as this connection is open. The grabbed key events are delivered to this
    connection, so its thread reads and discards them; the pynput listener still sees them through RECORD.
    """

    POLL_S = 0.1
    """How often the drain thread checks for stop: bounds the time `stop()` takes."""

    def __init__(self, hotkeys: Iterable[Hotkey]) -> None:
        self._hotkeys = list(hotkeys)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._display: Any = None

    def start(self) -> None:
        from Xlib import X, display, error

        self._display = display.Display()
        errors: list[Any] = []
        self._display.set_error_handler(lambda err, *_: errors.append(err))
        root = self._display.screen().root
        masks = _x11_modifier_masks(self._display)
        ignored = _x11_ignored_mask_combinations(self._display)
        for hotkey in self._hotkeys:
            keycode = self._display.keysym_to_keycode(x11_keysym(hotkey.key))
            if not keycode:
                self._close()
                raise HotkeyError(
                    f"hotkey {hotkey.spec}: the key {hotkey.key!r} is not on this keyboard layout; "
                    "choose another key in the config"
                )
            modifier_mask = 0
            for modifier in hotkey.modifiers:
                if not masks.get(modifier):
                    self._close()
                    raise HotkeyError(f"hotkey {hotkey.spec}: <{modifier}> is not mapped on this X server")
                modifier_mask |= masks[modifier]
            for extra in ignored:
                root.grab_key(keycode, modifier_mask | extra, True, X.GrabModeAsync, X.GrabModeAsync)
        self._display.sync()
        if errors:
            self._close()
            taken = any(isinstance(err, error.BadAccess) for err in errors)
            reason = "is already taken by another application" if taken else f"could not be grabbed ({errors[0]})"
            raise HotkeyError(
                f"hotkey {' / '.join(h.spec for h in self._hotkeys)} {reason}; "
                "choose other keys (hotkey_push_to_talk, hotkey_toggle) in the config"
            )
        self._thread = threading.Thread(target=self._drain, name="x11-hotkey-grab", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def _drain(self) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._display], [], [], self.POLL_S)
                if ready:
                    while self._display.pending_events():
                        self._display.next_event()
        except Exception:
            log.exception("the X11 hotkey grab connection failed; hotkeys may now reach the focused window")
        finally:
            self._close()

    def _close(self) -> None:
        if self._display is not None:
            with contextlib.suppress(Exception):
                self._display.close()  # closing the connection releases every grab
            self._display = None


def _x11_modifier_masks(display: Any) -> dict[str, int]:
    """Which modifier bit (Mod1..Mod5, Control, Shift) each of our modifiers is on, from the server's map."""
    from Xlib import XK, X

    bits = [X.ShiftMask, X.LockMask, X.ControlMask, X.Mod1Mask, X.Mod2Mask, X.Mod3Mask, X.Mod4Mask, X.Mod5Mask]
    mapping = display.get_modifier_mapping()
    masks: dict[str, int] = {}
    for modifier, names in _X11_MODIFIER_KEYSYMS.items():
        keycodes = {display.keysym_to_keycode(XK.string_to_keysym(name)) for name in names} - {0}
        for index, row in enumerate(mapping):
            if keycodes & set(row):
                masks[modifier] = bits[index]
                break
    return masks


def _x11_ignored_mask_combinations(display: Any) -> list[int]:
    """CapsLock and NumLock change the modifier state; grab with every combination so they do not matter."""
    from Xlib import XK, X

    num_lock = 0
    keycode = display.keysym_to_keycode(XK.string_to_keysym("Num_Lock"))
    bits = [X.ShiftMask, X.LockMask, X.ControlMask, X.Mod1Mask, X.Mod2Mask, X.Mod3Mask, X.Mod4Mask, X.Mod5Mask]
    for index, row in enumerate(display.get_modifier_mapping()):
        if keycode and keycode in row:
            num_lock = bits[index]
    extras = {0, X.LockMask, num_lock, X.LockMask | num_lock}
    return sorted(extras)
