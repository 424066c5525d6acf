"""Hotkey syntax and chord logic: pure, no keyboard needed."""

from __future__ import annotations

import pytest

from tray_client.hotkeys import ChordTracker, HotkeyError, HotkeyListener, parse_hotkey


@pytest.mark.parametrize(
    ("spec", "modifiers", "key"),
    [
        ("<ctrl>+<alt>+d", {"ctrl", "alt"}, "d"),
        ("<ctrl>+<alt>+space", {"ctrl", "alt"}, "space"),  # the config default: a bare key name
        ("<ctrl>+<alt>+<space>", {"ctrl", "alt"}, "space"),
        ("<CTRL>+<Shift>+<F9>", {"ctrl", "shift"}, "f9"),
        ("<ctrl_l>+x", {"ctrl"}, "x"),
        ("<cmd>+X", {"cmd"}, "x"),
        ("<super>+<enter>", {"cmd"}, "enter"),
        ("<ctrl>++", {"ctrl"}, "+"),
        ("<f8>", set(), "f8"),
    ],
)
def test_parse_accepts_pynput_syntax(spec, modifiers, key):
    hotkey = parse_hotkey(spec)
    assert hotkey.modifiers == frozenset(modifiers)
    assert hotkey.key == key


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "empty"),
        ("<ctrl>+<alt>", "no key besides the modifiers"),
        ("<ctrl>+a+b", "2 keys"),
        ("<ctrl>+<banana>", "'<banana>' is not a key"),
        ("<ctrl>+<ctrl_l>+a", "twice"),
        ("<ctrl>+", "not a key combination"),
    ],
)
def test_parse_rejects_with_a_message_that_names_the_setting_and_the_syntax(spec, fragment):
    with pytest.raises(HotkeyError) as caught:
        parse_hotkey(spec, "hotkey_toggle")
    message = str(caught.value)
    assert fragment in message
    assert "hotkey_toggle" in message
    assert "<ctrl>+<alt>+d" in message  # the example of the right syntax


def tracker() -> ChordTracker:
    return ChordTracker({"ptt": parse_hotkey("<ctrl>+<alt>+space"), "toggle": parse_hotkey("<ctrl>+<alt>+d")})


def test_chord_goes_down_on_the_last_key_and_up_on_any_release():
    chords = tracker()
    assert chords.press("ctrl") == []
    assert chords.press("alt") == []
    assert chords.press("space") == ["ptt"]
    assert chords.press("space") == []  # auto-repeat does not fire again
    assert chords.active == {"ptt"}
    assert chords.release("ctrl") == ["ptt"]  # releasing a modifier ends the hold
    assert chords.release("space") == []
    assert chords.active == frozenset()


def test_chord_needs_exactly_its_modifiers():
    chords = tracker()
    for key in ("ctrl", "alt", "shift"):
        chords.press(key)
    assert chords.press("d") == []  # ctrl+alt+shift+d is another shortcut
    chords.release("d")
    chords.release("shift")
    assert chords.press("d") == ["toggle"]
    assert chords.release("d") == ["toggle"]


def test_key_without_modifiers_does_not_fire():
    chords = tracker()
    assert chords.press("space") == []
    assert chords.press("ctrl") == []
    assert chords.press("alt") == []  # space was pressed before the modifiers: not the chord
    assert chords.active == frozenset()


def test_would_fire_tells_which_key_to_swallow():
    chords = tracker()
    chords.press("ctrl")
    assert chords.would_fire("d") is None  # alt is missing
    chords.press("alt")
    assert chords.would_fire("d") == "toggle"
    assert chords.would_fire("ctrl") is None  # modifiers are never swallowed
    chords.press("d")
    assert chords.would_fire("d") == "toggle"  # its release must be swallowed too


def test_release_all_reports_held_hotkeys():
    chords = tracker()
    for key in ("ctrl", "alt", "space"):
        chords.press(key)
    assert chords.release_all() == ["ptt"]
    assert chords.active == frozenset()


def test_two_settings_with_the_same_keys_are_refused():
    same = parse_hotkey("<ctrl>+<alt>+d")
    with pytest.raises(HotkeyError, match="same keys"):
        HotkeyListener({"ptt": same, "toggle": parse_hotkey("<alt>+<ctrl>+D")},
                       print, print)
