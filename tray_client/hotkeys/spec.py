"""Hotkey specs: `<ctrl>+<alt>+x` in pynput's syntax, parsed into a `Hotkey` of plain tokens. Pure.

A token is a lower-case name: a modifier (`ctrl`, `alt`, `shift`, `cmd`), a named key (`space`, `f9`) or one
character. Both backends (`_win32`, `_x11`) map their key events to these tokens, so the chord logic in
`chords.py` never sees a platform key code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODIFIERS", "SYNTAX_HELP", "Hotkey", "HotkeyError", "modifier_token", "parse_hotkey"]

MODIFIERS = ("ctrl", "alt", "shift", "cmd")
_MODIFIER_ALIASES = {
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl", "control": "ctrl",
    # Right Alt counts as Alt: pynput names it alt_gr on Windows and on X11 layouts where it is ISO_Level3_Shift.
    "alt": "alt", "alt_l": "alt", "alt_r": "alt", "alt_gr": "alt",
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
    "cmd": "cmd", "cmd_l": "cmd", "cmd_r": "cmd", "super": "cmd", "win": "cmd",
}
NAMED_KEYS = frozenset(
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


def modifier_token(name: str) -> str | None:
    """The modifier token of a key name (`alt_gr` -> `alt`), or None when `name` is no modifier."""
    return _MODIFIER_ALIASES.get(name)


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
        if token in MODIFIERS:
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
    if name in NAMED_KEYS:
        return name
    return None
