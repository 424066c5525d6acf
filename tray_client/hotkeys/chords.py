"""Chord tracking: key-down/up tokens in, hotkey down/up transitions out. Pure: no keyboard, no thread."""

from __future__ import annotations

from collections.abc import Mapping

from tray_client.hotkeys.spec import MODIFIERS, Hotkey

__all__ = ["ChordTracker"]


class ChordTracker:
    """Turn key-down/up tokens into hotkey down/up transitions.

    A hotkey is down while exactly its modifiers and its key are held (extra modifiers mean another
    shortcut, e.g. ctrl+alt+shift+d is not ctrl+alt+d). It goes up as soon as its key or one of its
    modifiers is released. Repeated key-downs (auto-repeat) do not fire again.

    A key-up can be missed: Windows does not show the keyboard hook the Win key's release after Win+L, nor
    keys released while a UAC prompt has the secure desktop. A modifier believed held forever would leave
    every hotkey dead, so a backend that can ask the OS which modifiers are down calls `resync` before each
    key-down, and the tracker believes the OS.
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

    def resync(self, held_modifiers: frozenset[str]) -> list[str]:
        """Forget modifiers the OS reports up (their key-up was missed); return hotkeys that went up because of it.

        Modifiers the OS reports down but the tracker never saw pressed are left alone: their key-down is
        still on its way to the hook."""
        ended: list[str] = []
        for stale in sorted((self._held & set(MODIFIERS)) - held_modifiers):
            ended += self.release(stale)
        return ended

    def press(self, token: str) -> list[str]:
        """Record a key-down; return the hotkeys that went down because of it."""
        if token in self._held:
            return []
        self._held.add(token)
        fired = []
        held = self._held & set(MODIFIERS)
        for name, hotkey in self._hotkeys.items():
            if name not in self._active and token == hotkey.key and held == hotkey.modifiers:
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
