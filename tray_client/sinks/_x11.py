"""X11 sinks: keystrokes through xdotool, and clipboard paste through xclip. All blocking.

Each sink is called on the pipeline's output thread only (one owner), one final at a time.
Why xdotool: pynput's X11 typer remaps keys for characters outside the keymap and corrupts them under load;
`xdotool type` handles any Unicode (CJK included) correctly.

Why wait for the modifiers before `--clearmodifiers`: xdotool's --clearmodifiers releases the modifiers it
finds held and presses them again afterwards. Our hotkey listener sees that release like the user's, so a
push-to-talk chord held for the next utterance ended in the middle of it. Waiting until the user has let go
(base.wait_for_release) leaves --clearmodifiers only the lock keys (Caps Lock) to clear, which it must.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import time
from typing import Any

from tray_client.sinks.base import ModifiersHeldError, OutputError, held_message, wait_for_release
from tray_client.sinks.keys import XDOTOOL_KEYS, XDOTOOL_PASTE, Key
from tray_client.sinks.x11_keymap import SpareKeycodes

__all__ = ["X11ClipboardPaster", "XdotoolTyper", "set_clipboard_text"]

log = logging.getLogger(__name__)

SUBPROCESS_TIMEOUT_S = 30.0
PASTE_SETTLE_S = 0.3  # the target app reads the clipboard asynchronously after ctrl+v; restore only after


class _ModifierState:
    """Which modifiers the X server reports held (the pointer query's state mask), on a connection of our own."""

    def __init__(self, display_name: str | None = None) -> None:
        self._display_name = display_name
        self._display: Any = None

    def held(self) -> frozenset[str]:
        from Xlib import X, display

        if self._display is None:
            self._display = display.Display(self._display_name)
        mask = self._display.screen().root.query_pointer().mask
        bits = {"shift": X.ShiftMask, "ctrl": X.ControlMask, "alt": X.Mod1Mask, "cmd": X.Mod4Mask}
        return frozenset(name for name, bit in bits.items() if mask & bit)

    def wait_quietly(self) -> None:
        """Wait (up to MODIFIER_WAIT_S) until no modifier is held, before a command's key: Ctrl+Backspace would
        delete words. Past the wait the key is pressed anyway (xdotool --clearmodifiers lifts them)."""
        with contextlib.suppress(Exception):
            wait_for_release(self.held)

    def wait(self, text: str) -> None:
        """Wait until no modifier is held; else put `text` on the clipboard and raise ModifiersHeldError."""
        try:
            down = wait_for_release(self.held)
        except Exception as error:  # no Xlib connection: type anyway, as before, rather than lose the text
            log.warning("cannot read the modifier state (%s); typing without waiting", error)
            return
        if down:
            set_clipboard_text(text)
            raise ModifiersHeldError(held_message(down))

    def close(self) -> None:
        if self._display is not None:
            with contextlib.suppress(Exception):
                self._display.close()
            self._display = None


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, check=True, timeout=SUBPROCESS_TIMEOUT_S, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as error:
        raise OutputError(f"{command[0]} is not installed: apt-get install {command[0]}, "
                          "or choose another output") from error
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise OutputError(f"{command[0]} failed: {error}") from error


class XdotoolTyper:
    """X11 keystrokes through `xdotool type`, exact for any Unicode character, CJK included, under load too.

    Characters missing from the keymap are bound to spare keycodes first (see x11_keymap for why xdotool's own
    per-character remapping loses characters), so xdotool only ever presses keys that stay bound.
    """

    spaced = True

    def __init__(self, delay_ms: int = 0, display_name: str | None = None) -> None:
        if shutil.which("xdotool") is None:
            raise OutputError("xdotool is not installed: apt-get install xdotool, or use --output clipboard")
        self.delay_ms = delay_ms
        self._display_name = display_name
        self._keymap: SpareKeycodes | None = None
        self._keymap_tried = False
        self._modifiers = _ModifierState(display_name)

    def _spare_keycodes(self) -> SpareKeycodes | None:
        # Opened on first use, on the output thread that owns it (the sink is created on the pipeline thread).
        if not self._keymap_tried:
            self._keymap_tried = True
            self._keymap = SpareKeycodes.open(self._display_name)
        return self._keymap

    def emit(self, text: str) -> None:
        self._modifiers.wait(text)
        keymap = self._spare_keycodes()
        if keymap is None:
            self._type(text)
            return
        for piece in keymap.pieces(text):
            unbound = keymap.bind(piece)
            if unbound:
                log.warning("no spare keycode for %d character(s); xdotool remaps them itself", len(unbound))
            self._type(piece)
            keymap.typed(piece)

    def _type(self, text: str) -> None:
        _run(["xdotool", "type", "--clearmodifiers", "--delay", str(self.delay_ms), "--", text],
             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def press(self, key: Key, count: int = 1) -> None:
        """Press a voice command's key (sinks.keys); never part of `emit`'s text."""
        self._modifiers.wait_quietly()
        _xdotool_key(XDOTOOL_KEYS[key], count, self.delay_ms)

    def close(self) -> None:
        """Empty the keycodes bound for typing (after the last keys settled); call on the output thread."""
        if self._keymap is not None:
            self._keymap.close()
            self._keymap = None
        self._modifiers.close()


class X11ClipboardPaster:
    """Paste with ctrl+v (ctrl+shift+v in terminals) through the X11 CLIPBOARD, then put back what it held."""

    spaced = True

    def __init__(self, paste_keys: str = "ctrl+v") -> None:
        missing = [tool for tool in ("xclip", "xdotool") if shutil.which(tool) is None]
        if missing:
            raise OutputError(f"{' and '.join(missing)} not installed: apt-get install {' '.join(missing)}")
        self._modifiers = _ModifierState()
        self._paste_keys = XDOTOOL_PASTE[paste_keys]

    @staticmethod
    def _get() -> str | None:
        result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                                timeout=SUBPROCESS_TIMEOUT_S)
        return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None

    def emit(self, text: str) -> None:
        self._modifiers.wait(text)
        saved = self._get()
        set_clipboard_text(text)
        _xdotool_key(self._paste_keys)
        time.sleep(PASTE_SETTLE_S)
        if saved is not None:
            set_clipboard_text(saved)

    def press(self, key: Key, count: int = 1) -> None:
        """Press a voice command's key (sinks.keys)."""
        self._modifiers.wait_quietly()
        _xdotool_key(XDOTOOL_KEYS[key], count)

    def close(self) -> None:
        """Give back the X connection used to read the modifier state."""
        self._modifiers.close()


def _xdotool_key(keys: str, count: int = 1, delay_ms: int = 12) -> None:
    _run(["xdotool", "key", "--clearmodifiers", "--repeat", str(count), "--delay", str(delay_ms), keys],
         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def set_clipboard_text(text: str) -> None:
    """Put `text` on the X11 CLIPBOARD selection (xclip keeps serving it after we return)."""
    # xclip forks a child that serves the selection; do not wait on its pipes.
    _run(["xclip", "-selection", "clipboard", "-i"], input=text.encode("utf-8"),
         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
