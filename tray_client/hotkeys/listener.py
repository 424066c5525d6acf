"""Global hotkeys: push-to-talk (hold) and toggle, in pynput's `<ctrl>+<alt>+x` syntax, never typed into the app.

The layers, so the logic is testable without a keyboard:
- `spec.parse_hotkey` turns a spec into a `Hotkey` (modifiers plus one key, as plain tokens). Pure.
- `chords.ChordTracker` turns key-down/up tokens into hotkey down/up transitions. Pure.
- `HotkeyListener` (here) runs a pynput keyboard listener on its own thread, feeds the tracker, and calls
  `on_down` / `on_up` there. The platform backends keep the hotkey's key from reaching the focused window:
  `_x11.KeyGrab` with passive grabs, `_win32.EventFilter` as pynput's `win32_event_filter`. pynput's
  GlobalHotKeys does neither, which is why this package exists.

Injected key events (another program's SendInput/XSendEvent, or our own typing of a final) are never hotkeys.

Thread map (see ui/tray/app.py): the pynput listener thread calls the callbacks; on X11 one more thread owns the Xlib
connection that holds the grabs and only drains it. Both are stopped by `HotkeyListener.stop()`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from tray_client.hotkeys import _x11
from tray_client.hotkeys.chords import ChordTracker
from tray_client.hotkeys.spec import Hotkey, HotkeyError, modifier_token

__all__ = ["HotkeyListener", "pynput_token"]

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0
"""How long `start()` waits for pynput's listener thread to install its hook before calling it failed."""


def pynput_token(key: Any) -> str | None:
    """The token of a pynput Key/KeyCode, or None for keys no hotkey can name."""
    name = getattr(key, "name", None)
    if name is not None:  # a pynput.keyboard.Key member
        name = name.lower()
        return modifier_token(name) or name
    char = getattr(key, "char", None)
    if char:
        return char.lower()
    vk = getattr(key, "vk", None)
    if vk is not None:
        if sys.platform == "win32":
            from tray_client.hotkeys._win32 import vk_token

            return vk_token(vk)
        return _x11.keysym_token(vk)
    return None


class HotkeyListener:
    """Watch the keyboard for the bound hotkeys; call `on_down(name)` / `on_up(name)` on the listener thread.

    `start()` raises HotkeyError when a hotkey cannot be registered (another application grabbed it, or no
    keyboard hook is possible). The callbacks must be quick and thread-safe (the app posts commands to the
    pipeline and returns). `on_lost(why)` is called once if the hotkeys stop working after a good start.
    """

    def __init__(
        self,
        bindings: Mapping[str, Hotkey],
        on_down: Callable[[str], None],
        on_up: Callable[[str], None],
        on_lost: Callable[[str], None] | None = None,
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
        self._on_lost = on_lost or (lambda _why: None)
        self._tracker = ChordTracker(self._bindings)
        self._listener: Any = None
        self._grab: _x11.KeyGrab | None = None

    def start(self) -> None:
        """Register the grabs and start the listener thread; on any failure nothing stays registered."""
        from pynput import keyboard  # lazy: pynput needs a display at import time

        if _x11.is_x11():
            self._grab = _x11.KeyGrab(self._bindings.values(), on_lost=self._on_lost)
            self._grab.start()
        try:
            options: dict[str, Any] = {}
            if sys.platform == "win32":
                options["win32_event_filter"] = self._win32_filter()
            listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release, **options)
            listener.name = "hotkeys"
            listener.daemon = True
            self._listener = listener  # before start: the win32 filter may run at once and needs it
            listener.start()
            _wait_ready(listener)
            if self._grab is not None:
                self._grab.watch(self._listener_alive)
        except BaseException:
            self.stop()  # a grab without a listener would swallow the hotkey system-wide
            raise
        log.info("hotkeys registered: %s", ", ".join(f"{n}={h.spec}" for n, h in self._bindings.items()))

    def stop(self) -> None:
        """Stop listening, release the grabs, and report any hotkey still held as released."""
        listener, self._listener = self._listener, None
        try:
            # pynput's stop() waits for the hook to be ready: on a thread that already died it would wait forever.
            if listener is not None and listener.is_alive():
                listener.stop()
                if _x11.is_x11():
                    _x11.unblock_listener(listener)
                listener.join(timeout=1.0)  # re-raises what ended the thread
        except Exception:
            log.exception("the keyboard listener failed")
        finally:
            if self._grab is not None:
                self._grab.stop()
                self._grab = None
        for name in self._tracker.release_all():
            self._emit(name, False)

    def _listener_alive(self) -> bool:
        listener = self._listener
        return listener is not None and listener.is_alive()

    def _win32_filter(self) -> Callable[[int, Any], bool]:
        from tray_client.hotkeys._win32 import EventFilter

        return EventFilter(self._tracker, lambda name: self._bindings[name].modifiers, self._emit,
                           lambda: self._listener.suppress_event())

    def _on_press(self, key: Any, injected: bool = False) -> None:
        token = None if injected else pynput_token(key)
        if token is not None:
            for name in self._tracker.press(token):
                self._emit(name, True)

    def _on_release(self, key: Any, injected: bool = False) -> None:
        token = None if injected else pynput_token(key)
        if token is not None:
            for name in self._tracker.release(token):
                self._emit(name, False)

    def _emit(self, name: str, down: bool) -> None:
        try:
            (self._on_down if down else self._on_up)(name)
        except Exception:  # a failing callback must not kill the keyboard hook
            log.exception("hotkey %s callback failed", name)


def _wait_ready(listener: Any) -> None:
    """pynput's `wait()` blocks forever when its thread dies before installing the hook: poll with a deadline."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not getattr(listener, "_ready", True):
        if not listener.is_alive():
            raise HotkeyError("the keyboard listener failed to start (see the log); hotkeys are off, "
                              "use the tray icon")
        if time.monotonic() > deadline:
            raise HotkeyError(f"the keyboard listener did not start within {READY_TIMEOUT_S:.0f} s; hotkeys "
                              "are off, use the tray icon")
        time.sleep(0.01)
    if not listener.is_alive():
        raise HotkeyError("the keyboard listener stopped right after starting (see the log); hotkeys are off")
