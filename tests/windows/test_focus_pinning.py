"""Text only where you spoke, as Windows code under Wine (the real win32 tray, sinks and focus lookups).

The issue this proves fixed: a final that arrived while the tray's popup menu was open was typed into the app's
own hidden window (python.exe), the menu closed on the keys, Notepad stayed empty and the history said
python.exe. Now the final waits while the menu is open; when the menu closes the focus goes back to Notepad,
the text lands there, and the history says notepad.exe.
"""

from __future__ import annotations

import json

import pytest

from dictation_devtools.wine.harness import focus_notepad, poll
from tests.windows.conftest import PHRASES
from tests.windows.test_menu_and_hotkeys import _open_menu_on_screen

pytestmark = [pytest.mark.journey, pytest.mark.slow]

def _history(wine_lane) -> list[dict]:
    """The history as `python -m tray_client history --json` prints it in the same Windows user profile."""
    out = wine_lane.run("import sys, runpy; sys.argv = ['tray_client', 'history', '--json']; "
                        "runpy.run_module('tray_client', run_name='__main__')", timeout=120)
    return json.loads(out[out.index("["):])


def test_a_final_while_our_menu_is_open_lands_in_notepad_after_the_menu_closed(
        start_tray, notepad, phrases, wine_lane, slow_server_url):
    tray = start_tray(start_listening=True, server=slow_server_url)
    tray.wait_connected()
    focus_notepad(wine_lane.display)
    tray.say("ascii", phrases["ascii"].audio.tobytes() + bytes(2 * 16_000))
    poll(lambda: "is pinned to window" in tray.text_output(), 30, what="the utterance to start")

    closed = _open_menu_on_screen(tray, notepad)  # the user right-clicks the tray icon while the text comes
    poll(lambda: "a final waits" in tray.text_output(), 30, what="the final to wait for the menu")
    assert notepad.call("notepad_text") == ""

    def menu_closed() -> bool:
        if tray.menus_closed() > closed:
            return True
        notepad.call("menus_escape")
        return False

    poll(menu_closed, 10, interval=0.5, what="the menu to close")
    try:
        poll(lambda: notepad.call("notepad_text") == PHRASES["ascii"], 30, what="the final typed into Notepad")
    except TimeoutError:
        print("TRAY OUTPUT:\n" + tray.text_output())
        print("NOTEPAD:", repr(notepad.call("notepad_text")))
        raise
    rows = poll(lambda: [r for r in _history(wine_lane) if r["text"] == PHRASES["ascii"]], 30,
                interval=1.0, what="the final in the history")
    assert rows[0]["target_app"].lower() == "notepad.exe", rows[0]
