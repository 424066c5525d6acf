"""Text only where you spoke: the pinning rule (pure), the gate's bounded wait, and the text writer's use of it
(typed into the pinned window, or on the clipboard with the reason; Type again spaced like a dictation)."""

from __future__ import annotations

import os

import pytest

from tray_client.config import ClientConfig
from tray_client.desktop.focus import Focus, OwnWindows
from tray_client.desktop.pinning import (
    FOCUS_LOST_MESSAGE,
    MENU_STAYED_MESSAGE,
    TargetGate,
    Verdict,
    decide,
)
from tray_client.text.profiles import profile_for
from tray_client.text.stage import TextStage
from tray_client.text.writer import TextWriter

NOTEPAD = Focus("1001", ("notepad.exe",), 4000)
CHAT = Focus("2002", ("chat.exe",), 5000)
OUR_MENU = Focus("3003", ("python.exe",), os.getpid())
OUR_TK = Focus("4004", ("Tk", "settings"), None)
NOTHING = Focus()


def own(focus: Focus) -> bool:
    registry = OwnWindows()
    registry.add(OUR_TK.window)
    return registry.owns(focus)


@pytest.mark.parametrize(("pinned", "now", "grabbed", "verdict"), [
    (NOTEPAD, NOTEPAD, False, Verdict.TYPE),  # still there: type
    (NOTEPAD, CHAT, False, Verdict.CLIPBOARD),  # another window in front: never type into it
    (NOTEPAD, NOTHING, False, Verdict.CLIPBOARD),  # the window closed and nothing has the focus
    (NOTEPAD, OUR_MENU, False, Verdict.WAIT),  # our tray menu (our process): wait for it to close
    (NOTEPAD, OUR_TK, False, Verdict.WAIT),  # our Tk window, known by its registered id
    (NOTEPAD, NOTEPAD, True, Verdict.WAIT),  # a menu holds the keyboard (X11 grab): keys would go to it
    (NOTHING, CHAT, False, Verdict.TYPE),  # nothing pinned (focus unknown at the start): the window in front
    (OUR_MENU, CHAT, False, Verdict.TYPE),  # spoke while our menu had the focus: the first real window
    (OUR_MENU, OUR_MENU, False, Verdict.WAIT),  # ... but never our own
    (NOTHING, NOTHING, False, Verdict.TYPE),  # no focus information at all (headless): as before
])
def test_the_pinning_rule(pinned, now, grabbed, verdict):
    assert decide(pinned, now, own=own, grabbed=grabbed) is verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_gate_waits_while_our_menu_is_open_and_types_into_the_pinned_window_once_it_closed():
    clock = Clock()
    seen = iter([OUR_MENU] * 10 + [NOTEPAD])
    gate = TargetGate(focus=lambda: next(seen), own=own, grabbed=lambda: False, give_back=lambda *_: False, wait_s=5,
                      clock=clock,
                      sleep=clock.sleep)
    result = gate.check(NOTEPAD)
    assert result.verdict is Verdict.TYPE and result.focus == NOTEPAD
    assert 0 < clock.now < 5


def test_after_our_menu_closed_the_gate_hands_the_focus_back_to_the_pinned_window_and_types():
    focus = [OUR_MENU]  # Windows: the closed menu left the foreground on our hidden window

    def give_back(pinned: Focus, now: Focus) -> bool:
        assert now == OUR_MENU
        focus[0] = pinned
        return True

    gate = TargetGate(focus=lambda: focus[0], own=own, grabbed=lambda: False, give_back=give_back, wait_s=5)
    assert gate.check(NOTEPAD).verdict is Verdict.TYPE and focus[0] == NOTEPAD


def test_a_handed_back_focus_that_takes_a_moment_to_land_still_gets_the_text():
    """Wine on a loaded machine: after SetForegroundWindow the focus read as no window for a few polls; the
    final went to the clipboard although Notepad got the focus a moment later."""
    clock = Clock()
    focus = [OUR_MENU]
    readings = iter([NOTHING] * 5 + [NOTEPAD])

    def give_back(pinned: Focus, now: Focus) -> bool:
        focus[0] = None  # from now on the readings come from the moving activation
        return True

    def current() -> Focus:
        return focus[0] if focus[0] is not None else next(readings)

    gate = TargetGate(focus=current, own=own, grabbed=lambda: False, give_back=give_back, wait_s=5, settle_s=2,
                      clock=clock, sleep=clock.sleep)
    assert gate.check(NOTEPAD).verdict is Verdict.TYPE
    assert clock.now < 1


def test_a_focus_on_no_window_that_never_lands_goes_to_the_clipboard_after_the_settle_time():
    clock = Clock()
    gate = TargetGate(focus=lambda: NOTHING, own=own, grabbed=lambda: False, give_back=lambda *_: False, wait_s=5,
                      settle_s=2, clock=clock, sleep=clock.sleep)
    result = gate.check(NOTEPAD)
    assert result.verdict is Verdict.CLIPBOARD and result.reason == FOCUS_LOST_MESSAGE
    assert 2 <= clock.now < 3


def test_another_window_in_front_sends_the_text_to_the_clipboard_without_waiting():
    clock = Clock()
    gate = TargetGate(focus=lambda: CHAT, own=own, grabbed=lambda: False, give_back=lambda *_: False, wait_s=5,
                      settle_s=2, clock=clock, sleep=clock.sleep)
    assert gate.check(NOTEPAD).verdict is Verdict.CLIPBOARD and clock.now == 0


def test_the_gate_gives_up_on_a_menu_that_stays_open_and_says_so():
    clock = Clock()
    gate = TargetGate(focus=lambda: OUR_MENU, own=own, grabbed=lambda: False, give_back=lambda *_: False,
                      wait_s=5, clock=clock, sleep=clock.sleep)
    result = gate.check(NOTEPAD)
    assert result.verdict is Verdict.CLIPBOARD and result.reason == MENU_STAYED_MESSAGE
    assert clock.now >= 5


class Keyboard:
    """Stands in for the keyboard at the output boundary: what reached the focused window."""

    spaced = True

    def __init__(self) -> None:
        self.typed: list[str] = []

    def emit(self, text: str) -> None:
        self.typed.append(text)

    def press(self, key, count=1) -> None:
        self.typed.append(f"<{key.value}x{count}>")


def writer_with(focus: list[Focus]) -> tuple[TextWriter, Keyboard, list[str]]:
    clipboard: list[str] = []
    gate = TargetGate(focus=lambda: focus[0], own=own, grabbed=lambda: False, give_back=lambda *_: False, wait_s=0)
    return TextWriter(TextStage(), gate=gate, to_clipboard=clipboard.append), Keyboard(), clipboard


def write(writer: TextWriter, sink: Keyboard, pinned: Focus, raw: str):
    return writer.write(sink, ("type", "ctrl+v"), profile_for(ClientConfig(), pinned.names), pinned.names, raw,
                        pinned=pinned)


def test_a_final_whose_window_lost_the_focus_goes_to_the_clipboard_with_the_reason_and_is_not_typed():
    focus = [NOTEPAD]
    writer, keyboard, clipboard = writer_with(focus)
    first = write(writer, keyboard, NOTEPAD, "Dear team,")
    focus[0] = CHAT  # the user clicked into the chat while the second final was on its way
    second = write(writer, keyboard, NOTEPAD, "the build is green.")
    assert keyboard.typed == ["Dear team,"]
    assert clipboard == ["the build is green."]
    assert first.target == NOTEPAD and first.on_clipboard == ""
    assert second.typed == "" and second.on_clipboard == FOCUS_LOST_MESSAGE and second.target.app == "clipboard"

    # Back in Notepad, the next final follows "Dear team," as if the lost one had not been typed.
    focus[0] = NOTEPAD
    write(writer, keyboard, NOTEPAD, "See you.")
    assert keyboard.typed == ["Dear team,", " See you."]


def test_type_again_is_spaced_like_the_next_dictation_and_goes_where_the_user_is_now():
    focus = [NOTEPAD]
    writer, keyboard, _clipboard = writer_with(focus)
    write(writer, keyboard, NOTEPAD, "First sentence.")
    again = writer.retype(keyboard, "First sentence.")
    assert keyboard.typed == ["First sentence.", " First sentence."]
    assert again.typed == " First sentence." and again.target == NOTEPAD
    focus[0] = CHAT  # Paste last in another window: no separator from Notepad's text
    writer.retype(keyboard, "First sentence.")
    assert keyboard.typed[-1] == "First sentence."
