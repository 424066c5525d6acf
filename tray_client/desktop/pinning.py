"""Text only where you spoke: may a final be typed into the window that has the focus now?

Each utterance is pinned to the `Focus` it started in (text.dispatch). When its final is ready, `decide` (pure)
compares that pin with the focus now:

- the focus is on one of our own windows (the tray's popup menu, Settings), or a menu holds the keyboard
  (X11 grab): WAIT. Keys typed now would close the menu or land in our window; the user comes back in a moment;
- nothing was pinned (the focus was unknown, or it was on our own window when the utterance started): TYPE into
  the window in front, the only target there is;
- the pinned window still has the focus: TYPE;
- otherwise (the window closed, or the user moved to another one): CLIPBOARD. Typing would put the words into
  a window the user did not speak into (a chat, a terminal), so they go on the clipboard with a notice, and
  Paste last puts them where the user is now.

`TargetGate` is the thin driver: it asks the OS and waits (bounded by FOCUS_WAIT_S) while the answer is WAIT.
On Windows a closed tray menu leaves the foreground on our hidden window; the gate then hands it back to the
pinned window (desktop.focus.give_focus_back), which is where the user was when they opened the menu.
Past the wait the text goes on the clipboard too: better than keys into a menu that stayed open.

Focus moves are not instant: after the hand-back, and while Windows moves the activation (GetForegroundWindow
is NULL then), the focus reads as "nowhere" or as a window on its way out for a moment. A CLIPBOARD verdict in
that moment is not final: the gate looks again for up to FOCUS_SETTLE_S (under Wine on a loaded machine the
hand-back took tens of milliseconds to show, and the text went to the clipboard although Notepad got the focus).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tray_client.desktop.focus import Focus, current_focus, give_focus_back, keyboard_grabbed, own_windows

log = logging.getLogger(__name__)

__all__ = ["FOCUS_LOST_MESSAGE", "FOCUS_POLL_S", "FOCUS_WAIT_S", "GateResult", "TargetGate", "Verdict", "decide"]

FOCUS_WAIT_S = 20.0
"""How long a final waits for the focus to leave our own menu or window (a user reading the tray menu);
then it goes on the clipboard."""
FOCUS_POLL_S = 0.05
FOCUS_SETTLE_S = 2.0
"""How long a focus that is moving (just handed back, or on no window at all) may take to land before a
CLIPBOARD verdict stands. Only the clipboard path waits this; a final for the window in front types at once."""
FOCUS_LOST_MESSAGE = "Your text is on the clipboard: the window you spoke into lost the focus"
MENU_STAYED_MESSAGE = ("Your text is on the clipboard: the app's menu or window kept the focus for "
                       f"{FOCUS_WAIT_S:.0f} s")


class Verdict(enum.Enum):
    """What to do with a final now."""

    TYPE = "type"
    WAIT = "wait"
    CLIPBOARD = "clipboard"


def decide(pinned: Focus, now: Focus, *, own: Callable[[Focus], bool], grabbed: bool = False) -> Verdict:
    """The pinning rule (see the module doc): `own(focus)` tells our process's windows, `grabbed` whether a
    client holds the keyboard (X11 menus)."""
    if grabbed or own(now):
        return Verdict.WAIT
    if not pinned.known or own(pinned):
        return Verdict.TYPE
    if now.known and now.window == pinned.window:
        return Verdict.TYPE
    return Verdict.CLIPBOARD


@dataclass(frozen=True)
class GateResult:
    """The verdict (TYPE or CLIPBOARD, never WAIT), the focus it was taken on, and why, for a CLIPBOARD."""

    verdict: Verdict
    focus: Focus
    reason: str = ""


class TargetGate:
    """Asks the OS where the focus is and applies `decide`, waiting while it says WAIT (output thread)."""

    def __init__(self, *, focus: Callable[[], Focus] = current_focus,
                 own: Callable[[Focus], bool] = own_windows.owns, grabbed: Callable[[], bool] = keyboard_grabbed,
                 give_back: Callable[[Focus, Focus], bool] = give_focus_back, wait_s: float = FOCUS_WAIT_S,
                 settle_s: float = FOCUS_SETTLE_S, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._focus = focus
        self._own = own
        self._grabbed = grabbed
        self._give_back = give_back
        self._wait_s = wait_s
        self._settle_s = settle_s
        self._clock = clock
        self._sleep = sleep

    def check(self, pinned: Focus) -> GateResult:
        """TYPE (into `focus`) or CLIPBOARD, after waiting for our own menu or window to let the focus go."""
        deadline = self._clock() + self._wait_s
        settling_until: float | None = None  # set while the focus is on its way somewhere
        waiting = False
        while True:
            now = self._focus()
            verdict = decide(pinned, now, own=self._own, grabbed=self._grabbed())
            if verdict is Verdict.TYPE:
                return GateResult(verdict, now)
            if verdict is Verdict.CLIPBOARD:
                if settling_until is None and not now.known:
                    settling_until = self._clock() + self._settle_s  # activation is moving: no window has it
                if settling_until is None or self._clock() >= settling_until:
                    log.info("the final's window %s lost the focus to %s", pinned.window, now.window or "no window")
                    return GateResult(verdict, now, FOCUS_LOST_MESSAGE)
                self._sleep(FOCUS_POLL_S)
                continue
            if self._clock() >= deadline:
                return GateResult(Verdict.CLIPBOARD, now, MENU_STAYED_MESSAGE)
            if not waiting:
                waiting = True
                log.info("a final waits: the focus is on our own window or a menu holds the keyboard")
            if self._give_back(pinned, now):  # our closed menu left the focus on our hidden window
                log.info("the focus went back to window %s after our menu closed", pinned.window)
                settling_until = self._clock() + self._settle_s
                continue
            self._sleep(FOCUS_POLL_S)
