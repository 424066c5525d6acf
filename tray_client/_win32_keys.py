"""Which modifier keys Windows reports held: shared by the hotkeys (resync after a missed key-up) and the sinks
(wait until the user let go before typing)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["MODIFIER_VKS", "held_modifiers"]

MODIFIER_VKS = {"shift": (0xA0, 0xA1), "ctrl": (0xA2, 0xA3), "alt": (0xA4, 0xA5), "cmd": (0x5B, 0x5C)}
"""The left/right virtual keys of each modifier (VK_RMENU, Right Alt, counts as Alt)."""


def held_modifiers(get_async_key_state: Callable[[int], int] | None = None) -> frozenset[str]:
    """The modifiers Windows reports down now (the high bit of GetAsyncKeyState)."""
    if get_async_key_state is None:
        import ctypes

        get_async_key_state = ctypes.windll.user32.GetAsyncKeyState  # type: ignore[attr-defined]
    return frozenset(
        name for name, vks in MODIFIER_VKS.items() if any(get_async_key_state(vk) & 0x8000 for vk in vks)
    )
