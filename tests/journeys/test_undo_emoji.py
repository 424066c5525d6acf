"""A user's story: undo after a dictation that holds emoji, in a Tk text window on X11 (whose text the app cannot
read back). The user's own words are in the window; the final "Dear team OK 👨‍👩‍👧 and 👍🏽 done" is typed after
them; Ctrl+Alt+Z then deletes nothing (one Backspace per code point left half characters or ate the user's
text, depending on the editor) and says why. A plain final after it is undone exactly."""

from __future__ import annotations

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from dictation_devtools.stand_in_backends import KnownPhrase
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray, xrun

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]

EMOJI_FINAL = "Dear team OK \U0001F468\u200d\U0001F469\u200d\U0001F467 and \U0001F44D\U0001F3FD done"


def test_undo_of_a_final_with_emoji_deletes_nothing_and_says_why_then_a_plain_one_is_undone(
        x_display, tk_target, speech, tmp_path):
    emoji = KnownPhrase(EMOJI_FINAL, speech.english.phrase_audio(0))
    plain = known(speech.english, 1)
    wav = compose(tmp_path / "undo.wav", [silence(4.0), emoji.audio, silence(9.0), plain.audio, silence(3.0)])
    tk_target.focus()
    xrun(x_display, "xdotool", "type", "--delay", "20", "Mine:")  # the user's own text, before any dictation
    assert tk_target.wait_for_text("Mine:", 10) == "Mine:"
    with ScriptedServer([emoji, plain]) as server:
        tray = start_tray(x_display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--start-listening")
        try:
            tray.find_icon()
            tk_target.focus()
            assert wait_for(lambda: tk_target.text().endswith(" done"), 60), tk_target.text()
            with_emoji = tk_target.text()
            tray.key("ctrl+alt+z")
            assert wait_for(lambda: "holds emoji or combined characters" in tray.log_text(), 10), \
                tray.log_text()[-2000:]
            assert tk_target.text() == with_emoji  # not a character deleted: no half emoji, the user's text kept
            assert with_emoji.startswith("Mine:")

            assert wait_for(lambda: tk_target.text().endswith(plain.text), 40), tk_target.text()
            tray.key("ctrl+alt+z")
            assert tk_target.wait_for_text(with_emoji, 10) == with_emoji  # the plain final, and its space, go
            tray.quit()
        finally:
            tray.close()
