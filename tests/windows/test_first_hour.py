"""A user's first hour, as Windows code under Wine (issue 17, point 12): the real `python -m tray_client`, the real
win32 sinks and focus lookups, the real server on loopback with the scripted backend, Notepad as the user's editor.

1. The app is killed (taskkill /F) while words are held for a server that is down; at the next start, with the
   server up, they are offered (a balloon, the history), never typed into Notepad.
2. The user closes the Notepad they spoke into while its text is coming: nothing is typed into the other Notepad
   the focus goes to; the text is on the clipboard and a balloon says so.
3. Paste last: the user moves from one Notepad to another while the text is coming: neither gets it; Ctrl+Alt+V
   types it into the second.
4. Push-to-talk with listening on: speech before and after the hold is not typed, the held part is.

What is asserted is what the user sees: the Edit controls' text (WM_GETTEXT), the balloons Windows got, the
clipboard, and `python -m tray_client history`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_devtools.servers import free_port
from dictation_devtools.wine.harness import focus_notepad, poll, win_path, xdotool
from tests.windows.conftest import PHRASES
from tests.windows.test_focus_pinning import _history
from tray_client.desktop.pinning import FOCUS_LOST_MESSAGE
from tray_client.ui.tray.app import APP_ID

pytestmark = [pytest.mark.journey, pytest.mark.slow]

SILENCE_1S = bytes(2 * 16_000)


@pytest.fixture
def second_notepad(notepad, tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A second Notepad on a file (its title names it): (its window, its title)."""
    opened = tmp_path / "chat.txt"
    opened.write_text("", encoding="utf-8")
    try:
        window = notepad.call("notepad_open", path=win_path(opened))
        notepad.call("window_move", hwnd=window, x=640, y=360)  # beside the first: a click lands on the one meant
        yield window, opened.name
    finally:
        notepad.call("notepads_close_others")


def _click_into(display: str, title: str, *, other_than: str = "") -> None:
    """The user clicks into the text of the Notepad whose title holds `title` (and not `other_than`): X focus,
    which Wine turns into its foreground window."""
    env = {**os.environ, "DISPLAY": display}

    def named(window: str) -> str:
        return subprocess.run(["xdotool", "getwindowname", window], env=env, capture_output=True,
                              text=True).stdout.strip()

    def matching() -> list[str]:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Notepad"], env=env,
                               capture_output=True, text=True).stdout.split()
        return [window for window in found
                if title in named(window) and not (other_than and other_than in named(window))]

    window = poll(matching, 20, what=f"the Notepad {title!r} on X")[0]
    xdotool(display, "windowraise", window)
    xdotool(display, "mousemove", "--window", window, "60", "60", "click", "1")
    xdotool(display, "windowfocus", "--sync", window)


def _rows(wine_lane, name: str, since: float) -> list[dict]:
    """The history rows of the phrase `name` written since `since` (the lane's prefix, and so its history, is
    kept from one run to the next), once there is one."""
    return poll(lambda: [row for row in _history(wine_lane) if row["text"] == PHRASES[name] and row["time"] >= since],
                60, interval=1.0, what=f"{name!r} in the history")


def _wait_notice(tray, part: str) -> str:
    return poll(lambda: next((text for text in tray.notifications() if part in text), ""), 60,
                what=f"a balloon saying {part!r}")


def test_killed_with_words_held_for_a_down_server_they_are_offered_at_the_next_start_not_typed(
        start_tray, notepad, phrases, wine_lane):
    since = time.time()
    spool = wine_lane.user_profile() / "AppData" / "Local" / APP_ID / "Logs" / "spool"
    audio = phrases["kept"].audio.tobytes()
    tray = start_tray(start_listening=True, server=f"ws://127.0.0.1:{free_port()}")  # WSL not started yet
    tray.wait_hotkeys(90)
    focus_notepad(wine_lane.display)
    before = {path: path.stat().st_size for path in spool.glob("*/*.pcm")}
    tray.say("kept", audio + SILENCE_1S)
    poll(lambda: [path for path in spool.glob("*/*.pcm") if path not in before and path.stat().st_size >= len(audio)],
         60, what="the utterance's audio held on disk")
    poll(lambda: " ended (" in tray.text_output(), 30, what="the utterance to end")

    tray.process.kill()  # taskkill /F: the process ends at once, no clean-up of any kind runs
    tray.process.wait(timeout=30)
    assert "quit took" not in tray.text_output()

    again = start_tray()  # the next start, with the server up
    notice = _wait_notice(again, "kept from before the app stopped are transcribed")
    assert "nothing was typed" in notice
    (row,) = _rows(wine_lane, "kept", since)
    assert row["output"] == "recovered", row
    again.wait_hotkeys(90)
    assert notepad.call("notepad_text") == "", "recovered words were typed into the window in front"


def test_closing_the_notepad_you_spoke_into_while_its_final_comes_types_it_nowhere_else(
        start_tray, notepad, second_notepad, phrases, wine_lane, slow_server_url):
    spoken_into, title = second_notepad
    since = time.time()
    tray = start_tray(start_listening=True, server=slow_server_url)
    tray.wait_connected(90)
    _click_into(wine_lane.display, title)
    poll(lambda: notepad.call("foreground") == spoken_into, 20, what="the Notepad spoken into in front")
    tray.say("closed", phrases["closed"].audio.tobytes() + SILENCE_1S)
    poll(lambda: "is pinned to window" in tray.text_output(), 30, what="the utterance to start")
    notepad.call("close_window", hwnd=spoken_into)  # the user closes it while the text is on its way
    poll(lambda: notepad.call("window_text", hwnd=spoken_into) is None, 20, what="the Notepad to close")
    focus_notepad(wine_lane.display)  # and is in the other Notepad now

    notice = _wait_notice(tray, FOCUS_LOST_MESSAGE)
    assert "Ctrl+Alt+V" in notice
    assert notepad.call("clipboard_get")["text"] == PHRASES["closed"]
    (row,) = _rows(wine_lane, "closed", since)
    assert row["target_app"] == "clipboard", row
    assert notepad.call("notepad_text") == "", "the text followed the focus into another window"


def test_paste_last_types_a_final_that_lost_its_window_where_the_user_is_now(
        start_tray, notepad, second_notepad, phrases, wine_lane, slow_server_url):
    chat, title = second_notepad
    since = time.time()
    tray = start_tray(start_listening=True, server=slow_server_url)
    tray.wait_connected(90)
    tray.wait_hotkeys(90)
    _click_into(wine_lane.display, "Notepad", other_than=title)  # the first Notepad: where the user speaks
    first = notepad.call("notepad_window")
    poll(lambda: notepad.call("foreground") == first, 20, what="the first Notepad in front")
    tray.say("paste", phrases["paste"].audio.tobytes() + SILENCE_1S)
    poll(lambda: "is pinned to window" in tray.text_output(), 30, what="the utterance to start")
    _click_into(wine_lane.display, title)  # the user moves to the other Notepad before the text comes
    poll(lambda: notepad.call("foreground") == chat, 20, what="the second Notepad in front")

    _wait_notice(tray, FOCUS_LOST_MESSAGE)
    (row,) = _rows(wine_lane, "paste", since)
    assert row["target_app"] == "clipboard", row
    assert notepad.call("notepad_text") == "" and notepad.call("window_text", hwnd=chat) == ""

    xdotool(wine_lane.display, "key", "ctrl+alt+v")  # Paste last
    poll(lambda: notepad.call("window_text", hwnd=chat) == PHRASES["paste"], 30, what="the text pasted in Chat")
    assert notepad.call("notepad_text") == ""


def test_push_to_talk_types_only_what_was_said_while_the_key_was_held(start_tray, notepad, phrases, wine_lane):
    tray = start_tray(mode="ptt", start_listening=True)
    tray.wait_connected(90)
    tray.wait_hotkeys(90)
    focus_notepad(wine_lane.display)
    tray.say("before", phrases["before"].audio.tobytes() + SILENCE_1S)  # no key held
    tray.wait_spoken(30)

    xdotool(wine_lane.display, "keydown", "ctrl+alt+space")
    poll(lambda: any(tip.startswith("Dictation: hearing speech") for tip in tray.tips()), 20,
         what="the push-to-talk key to open an utterance")
    tray.say("held", phrases["held"].audio.tobytes() + SILENCE_1S)
    tray.wait_spoken(30)
    xdotool(wine_lane.display, "keyup", "space", "keyup", "alt", "keyup", "ctrl")
    poll(lambda: notepad.call("notepad_text") == PHRASES["held"], 30, what="the held phrase typed")

    tray.say("after", phrases["after"].audio.tobytes() + SILENCE_1S)  # the key is up again
    tray.wait_spoken(30)
    # A second hold: its text comes after anything the phrase before it could have produced (one link, in order).
    xdotool(wine_lane.display, "keydown", "ctrl+alt+space")
    tray.say("add", phrases["add"].audio.tobytes() + SILENCE_1S)
    tray.wait_spoken(30)
    xdotool(wine_lane.display, "keyup", "space", "keyup", "alt", "keyup", "ctrl")
    typed = poll(lambda: (lambda text: text if text.endswith("add") else "")(notepad.call("notepad_text")), 30,
                 what="the second held phrase typed")
    assert typed in (f"{PHRASES['held']} add", f"{PHRASES['held']}add"), typed
    assert "started (vad)" not in tray.text_output()
