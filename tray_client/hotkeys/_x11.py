"""X11 backend of the hotkeys: keysyms to tokens, and passive grabs so the focused window never sees a hotkey.

pynput's X11 listener watches the keyboard through the RECORD extension, which sees keys but cannot stop them
reaching the focused window; `KeyGrab` adds passive grabs (XGrabKey) on the root window for that. The grabs
live as long as its own X connection, and that connection must never outlive the listener: a grab without a
listener swallows the hotkey system-wide and nobody acts on it. So once the listener runs, `KeyGrab.watch`
gives it a check that the drain thread runs every `POLL_S`; when it turns false (the listener thread died)
the connection is closed, which releases every grab.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from tray_client.hotkeys.spec import Hotkey, HotkeyError

__all__ = ["KeyGrab", "is_x11", "keysym_token", "unblock_listener", "x11_keysym"]

log = logging.getLogger(__name__)

_KEYSYM_NAMES = {
    "space": "space", "enter": "Return", "esc": "Escape", "tab": "Tab", "backspace": "BackSpace",
    "delete": "Delete", "insert": "Insert", "home": "Home", "end": "End", "page_up": "Prior",
    "page_down": "Next", "up": "Up", "down": "Down", "left": "Left", "right": "Right", "pause": "Pause",
    "print_screen": "Print", "scroll_lock": "Scroll_Lock", "menu": "Menu", "caps_lock": "Caps_Lock",
    "num_lock": "Num_Lock", **{f"f{n}": f"F{n}" for n in range(1, 25)},
}
_MODIFIER_KEYSYMS = {
    "ctrl": ("Control_L", "Control_R"),
    "alt": ("Alt_L", "Alt_R", "Meta_L", "Meta_R"),
    "shift": ("Shift_L", "Shift_R"),
    "cmd": ("Super_L", "Super_R"),
    "alt_gr": ("ISO_Level3_Shift",),  # Right Alt on layouts with AltGr
}


def is_x11() -> bool:
    """Whether the hotkeys run against an X server (Linux with DISPLAY set)."""
    return sys.platform.startswith("linux") and bool(os.environ.get("DISPLAY"))


def keysym_token(vk: int) -> str | None:
    """pynput on X11 reports some keys by keysym only; map the named ones back to tokens."""
    from Xlib import XK

    for token, keysym_name in _KEYSYM_NAMES.items():
        if XK.string_to_keysym(keysym_name) == vk:
            return token
    if 0x20 < vk < 0x100:
        return chr(vk).lower()
    return None


def unblock_listener(listener: Any) -> None:
    """pynput's X11 listener stays blocked in RECORD until the next key event after stop(); disabling the
    record context from its control connection and flushing ends it at once."""
    with contextlib.suppress(Exception):
        listener._display_stop.record_disable_context(listener._context)
        listener._display_stop.flush()


def x11_keysym(token: str) -> int:
    """The X keysym of a non-modifier token (Latin-1 characters are their own keysyms)."""
    from Xlib import XK

    if token in _KEYSYM_NAMES:
        return XK.string_to_keysym(_KEYSYM_NAMES[token])
    if len(token) == 1:
        keysym = XK.string_to_keysym(token)
        return keysym or (ord(token) if ord(token) < 0x100 else 0x01000000 | ord(token))
    raise HotkeyError(f"no X11 keysym for key {token!r}")


class KeyGrab:
    """Passive grabs (XGrabKey) on the root window, so the focused window never receives a hotkey.

    The grabbed key events are delivered to this connection, so its thread reads and discards them; the pynput
    listener still sees them through RECORD. See the module doc for `watch`.
    """

    POLL_S = 1.0
    """How often the drain thread checks `keep_while`: bounds how long a dead listener's grab lives. `stop()`
    wakes it at once through a pipe, so this is not a wake-up rate that an idle app pays for (it was 10 a second)."""

    def __init__(self, hotkeys: Iterable[Hotkey], on_lost: Callable[[str], None] = lambda _why: None) -> None:
        self._hotkeys = list(hotkeys)
        self._keep_while: Callable[[], bool] = lambda: True
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._display: Any = None
        self._wake: tuple[int, int] | None = None  # a pipe: stop() writes to it to wake the drain thread

    def start(self) -> None:
        """Register every grab, or raise HotkeyError (key not on the layout, taken by another program)."""
        from Xlib import X, display

        self._display = display.Display()
        errors: list[Any] = []
        self._display.set_error_handler(lambda err, *_: errors.append(err))
        root = self._display.screen().root
        masks = _modifier_masks(self._display)
        ignored = _ignored_mask_combinations(self._display)
        for hotkey in self._hotkeys:
            keycode = self._display.keysym_to_keycode(x11_keysym(hotkey.key))
            if not keycode:
                self._close()
                raise HotkeyError(
                    f"hotkey {hotkey.spec}: the key {hotkey.key!r} is not on this keyboard layout; "
                    "choose another key in the config"
                )
            missing = [modifier for modifier in hotkey.modifiers if not masks.get(modifier)]
            if missing:
                self._close()
                raise HotkeyError(f"hotkey {hotkey.spec}: <{missing[0]}> is not mapped on this X server")
            for modifier_mask in grab_masks(hotkey.modifiers, masks):
                for extra in ignored:
                    root.grab_key(keycode, modifier_mask | extra, True, X.GrabModeAsync, X.GrabModeAsync)
        self._display.sync()
        if errors:
            self._close()
            raise HotkeyError(_grab_failure(self._hotkeys, errors))
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._drain, name="x11-hotkey-grab", daemon=True)
        self._thread.start()

    def watch(self, keep_while: Callable[[], bool]) -> None:
        """From now on, release the grabs as soon as `keep_while()` turns false (checked every POLL_S)."""
        self._keep_while = keep_while

    def stop(self) -> None:
        """Release the grabs (closing the connection) and end the drain thread; safe to call at any point."""
        self._stop.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake[1], b"x")
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        self._close()
        if self._wake is not None:
            for fd in self._wake:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake = None

    def _drain(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._keep_while():
                    log.error("the hotkey listener stopped; releasing the X11 hotkey grabs so the keys work again")
                    self._on_lost("the keyboard listener stopped")
                    return
                assert self._wake is not None
                ready, _, _ = select.select([self._display, self._wake[0]], [], [], self.POLL_S)
                if self._display in ready:
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


def grab_masks(modifiers: frozenset[str], masks: dict[str, int]) -> list[int]:
    """The modifier masks to grab a hotkey with: its modifiers' bits, and, when it has <alt> and the layout puts
    Right Alt on another bit (AltGr: ISO_Level3_Shift, usually Mod5), the same with that bit, since Right Alt
    counts as Alt (pynput reports it as alt_gr)."""
    base = 0
    for modifier in modifiers:
        base |= masks[modifier]
    found = [base]
    alt_gr = masks.get("alt_gr", 0)
    if "alt" in modifiers and alt_gr and not alt_gr & (base | masks["alt"]):
        found.append((base & ~masks["alt"]) | alt_gr)
    return found


def _grab_failure(hotkeys: list[Hotkey], errors: list[Any]) -> str:
    from Xlib import error

    taken = any(isinstance(err, error.BadAccess) for err in errors)
    reason = "is already taken by another application" if taken else f"could not be grabbed ({errors[0]})"
    return (f"hotkey {' / '.join(h.spec for h in hotkeys)} {reason}; "
            "choose other keys (hotkey_push_to_talk, hotkey_toggle) in the config")


def _mask_bits() -> list[int]:
    from Xlib import X

    return [X.ShiftMask, X.LockMask, X.ControlMask, X.Mod1Mask, X.Mod2Mask, X.Mod3Mask, X.Mod4Mask, X.Mod5Mask]


def _modifier_masks(display: Any) -> dict[str, int]:
    """Which modifier bit (Mod1..Mod5, Control, Shift) each of our modifiers is on, from the server's map."""
    from Xlib import XK

    bits = _mask_bits()
    mapping = display.get_modifier_mapping()
    masks: dict[str, int] = {}
    for modifier, names in _MODIFIER_KEYSYMS.items():
        keycodes = {display.keysym_to_keycode(XK.string_to_keysym(name)) for name in names} - {0}
        for index, row in enumerate(mapping):
            if keycodes & set(row):
                masks[modifier] = bits[index]
                break
    return masks


def _ignored_mask_combinations(display: Any) -> list[int]:
    """CapsLock and NumLock change the modifier state; grab with every combination so they do not matter."""
    from Xlib import XK, X

    num_lock = 0
    keycode = display.keysym_to_keycode(XK.string_to_keysym("Num_Lock"))
    bits = _mask_bits()
    for index, row in enumerate(display.get_modifier_mapping()):
        if keycode and keycode in row:
            num_lock = bits[index]
    extras = {0, X.LockMask, num_lock, X.LockMask | num_lock}
    return sorted(extras)
