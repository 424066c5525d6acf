"""On X11 a final is typed only once the user has let go of the modifiers, so xdotool's --clearmodifiers never
releases a push-to-talk chord the user is holding (which ended push-to-talk mid-utterance)."""

from __future__ import annotations

import subprocess
import threading

import pytest

from dictation_devtools.polling import wait_for
from tray_client.hotkeys import HotkeyListener, parse_hotkey
from tray_client.sinks._x11 import XdotoolTyper

pytestmark = pytest.mark.desktop


def test_typing_waits_for_a_held_push_to_talk_chord_and_never_ends_it(tk_target):
    events: list[str] = []
    listener = HotkeyListener({"push_to_talk": parse_hotkey("<ctrl>+<f7>", "hotkey_push_to_talk")},
                              lambda name: events.append("down"), lambda name: events.append("up"))
    listener.start()
    typer = XdotoolTyper()
    polls = [0]
    held = typer._modifiers.held

    def counting_held() -> frozenset[str]:
        polls[0] += 1
        return held()

    typer._modifiers.held = counting_held
    try:
        subprocess.run(["xdotool", "keydown", "ctrl", "F7"], env=tk_target.env, check=True, timeout=10)
        assert wait_for(lambda: events == ["down"], 5)
        typing = threading.Thread(target=typer.emit, args=("hello",))
        typing.start()
        assert wait_for(lambda: polls[0] >= 3, 10)  # the typer is waiting for the release, not typing
        assert events == ["down"] and tk_target.text() == ""
        subprocess.run(["xdotool", "keyup", "F7", "ctrl"], env=tk_target.env, check=True, timeout=10)
        typing.join(timeout=30)
        assert not typing.is_alive()
        assert tk_target.wait_for_text("hello") == "hello"
        assert events == ["down", "up"]  # one press, one release: the user's
    finally:
        typer.close()
        listener.stop()
