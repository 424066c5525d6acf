"""A final that reads "echo pwned, press enter." must not run a command in a terminal: the user dictates into a
terminal window (a Tk stand-in whose WM_CLASS is XTerm, pasting with Ctrl+Shift+V like a terminal) with the
headless client as a user starts it, and the words arrive as words, with no Enter. In a text editor the same
final still presses Enter: the rule is per app (tray_client/text/profiles.py)."""

from __future__ import annotations

import pytest

from dictation_devtools.desktop import start_tk_target
from tests.client.protocol_server import ProtocolServer
from tests.journeys._hostile_server_support import run_headless, scripted, user_env

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]

SAID = "echo pwned, press enter."


@pytest.mark.parametrize(("wm_class", "expected"), [
    ("XTerm", SAID),  # a listed terminal: pasted as said, nothing pressed
    ("Cool-retro-term", SAID),  # not listed, but its name says terminal
    ("Notesapp", "echo pwned\n"),  # an editor: the voice command presses Enter
])
def test_a_press_enter_final_types_no_enter_into_a_terminal(speech, x_display, tmp_path, wm_class, expected):
    sample = speech.english
    window = start_tk_target(x_display, tmp_path / "window", wm_class)
    try:
        with ProtocolServer(scripted(sample, SAID)) as server:
            result = run_headless(tmp_path, "--server", server.url, "--input-wav", str(sample.path),
                                  "--output", "type", "--fast", env=user_env(tmp_path, **x_display.env()))
        assert result.returncode == 0, result.stderr[-3000:]
        assert window.wait_for_text(expected) == expected
    finally:
        window.close()
