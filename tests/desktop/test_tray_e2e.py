"""The tray app end to end on a virtual desktop: Xvfb + trayer, a Tk window as the focused app, a scripted
protocol-v1 server, and a WAV file as the microphone. Input goes in as a user's would (XTest mouse clicks and
key presses through xdotool); what is checked is what a user sees (the docked icon's pixels and title, the text
in the Tk window).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import NEVER, KnownPhrase, ScriptedServer
from dictation_devtools.servers import free_port
from dictation_devtools.speech import SAMPLE_RATE, SpeechSample, write_wav
from tests.desktop.tray_harness import TrayProcess, difference, expected_icon, start_tray
from tray_client.events import ClientState
from tray_client.ui.tray.app import QUIT_BUDGET_S

pytestmark = [pytest.mark.desktop]

QUIT_WALL_LIMIT_S = QUIT_BUDGET_S + 2.0
"""Quit must finish within QUIT_BUDGET_S inside the app (the brief wait for a pending final plus 1 s, asserted
from its log); the process as a whole, interpreter teardown on a loaded 2-core box included, gets this much."""


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


def compose(path: Path, parts: list[np.ndarray]) -> Path:
    return write_wav(path, np.concatenate(parts))


def known(sample: SpeechSample, index: int) -> KnownPhrase:
    return KnownPhrase(sample.phrases[index].text, sample.phrase_audio(index))



def quit_seconds_from_log(tray: TrayProcess) -> float:
    for line in tray.log_text().splitlines():
        if "quit took" in line:
            return float(line.rsplit("quit took", 1)[1].split()[0])
    raise AssertionError(f"no 'quit took' line in the log:\n{tray.log_text()[-3000:]}")


class WavClock:
    """Where the WAV "mic" is now, in seconds, as seen from the test's monotonic clock."""

    def __init__(self, started: float) -> None:
        self.started = started

    def now(self) -> float:
        return time.monotonic() - self.started

    def anchor(self, at: float, position_s: float) -> None:
        """The WAV was at `position_s` at monotonic time `at` (a more exact fix than the first guess)."""
        self.started = at - position_s

    def sleep_until(self, position_s: float) -> None:
        time.sleep(max(0.0, position_s - self.now()))


@pytest.fixture
def tray_home(tmp_path: Path) -> Path:
    return tmp_path / "tray-home"


def test_icon_shows_every_state_and_a_click_dictates_english_and_chinese(
    x_display, tk_target, speech, tmp_path, tray_home, artifacts_dir
):
    english, mandarin = known(speech.english, 0), known(speech.mandarin, 0)
    wav = compose(tmp_path / "states.wav", [silence(3.0), english.audio, silence(1.2), mandarin.audio,
                                             silence(0.6)])
    port = free_port()
    shots: dict[ClientState, Image.Image] = {}
    icons: dict[ClientState, Image.Image] = {}
    tray = start_tray(x_display, tray_home, "--server", f"ws://127.0.0.1:{port}", "--input-wav", str(wav))
    try:
        tray.find_icon()

        def capture(state: ClientState) -> None:
            """Screenshot the tray and check that the docked icon shows `state`'s image."""
            distances: dict[ClientState, float] = {}
            geometry: list[tuple[int, int, int, int]] = []

            def shows_state() -> bool:
                geometry[:] = [tray.geometry()]
                _, _, width, height = geometry[0]
                if width < 16 or height < 16:  # trayer is (re)laying the icon out
                    return False
                screen = tray.screenshot(artifacts_dir / f"tray-screen-{state.value}.png")
                shots[state] = tray.tray_pixels(screen)
                icon = icons[state] = tray.icon_pixels(screen)
                distances.update({other: difference(icon, expected_icon(other, width, height))
                                  for other in ClientState})
                return min(distances, key=distances.get) is state and distances[state] < 12

            assert wait_for(shows_state, 60, 0.2), (state, geometry, distances)

        server = ScriptedServer([english, mandarin], final_delay_s=1.0, port=port)
        with server:
            tray.wait_state(ClientState.LISTENING, 60)  # the WAV "mic" is open, the VAD still off
            capture(ClientState.LISTENING)
            tray.click()  # the default action: Listening on
            tk_target.focus()  # clicking the tray takes the focus, as on Windows: click back into the app
            tray.wait_state(ClientState.SPEECH, 10)
            capture(ClientState.SPEECH)
            tray.wait_state(ClientState.TRANSCRIBING, 10)
            capture(ClientState.TRANSCRIBING)
            expected = f"{english.text} {mandarin.text}"
            assert tk_target.wait_for_text(expected, 20) == expected
            # The WAV ends 0.2 s after the last utterance and its final comes 1 s later: the "mic" is closed.
            tray.click()  # Listening off
            tk_target.focus()
            tray.wait_state(ClientState.OFF, 10)
            capture(ClientState.OFF)
            assert "Last:" in tray.title()  # the tooltip shows the last transcript

        tray.wait_state(ClientState.DISCONNECTED, 10)  # the server went away
        capture(ClientState.DISCONNECTED)
        assert wait_for(lambda: "notification: Cannot reach the server" in tray.log_text(), 60)

        # A server that refuses our token is an error the user must act on.
        with ScriptedServer([], token="right-token", port=port):
            tray.wait_state(ClientState.ERROR, 20)
            capture(ClientState.ERROR)
            assert "refused the token" in tray.title() or "refused the token" in tray.log_text()
            assert "notification:" in tray.log_text()
            assert tray.quit() < QUIT_WALL_LIMIT_S
    finally:
        tray.close()

    assert set(shots) == set(ClientState)
    # The icon really changes: every pair of states differs on screen.
    states = list(ClientState)
    for i, first in enumerate(states):
        for second in states[i + 1:]:
            assert difference(icons[first], icons[second]) > 10, (first, second)
    sheet = Image.new("RGB", (max(s.width for s in shots.values()) + 110, sum(s.height + 6 for s in shots.values())),
                      "white")
    from PIL import ImageDraw

    draw = ImageDraw.Draw(sheet)
    y = 0
    for state in states:
        draw.text((4, y + 6), state.value, fill="black")
        sheet.paste(shots[state], (110, y))
        y += shots[state].height + 6
    sheet.save(artifacts_dir / "tray-states.png")


def test_hotkeys_push_to_talk_and_toggle_through_real_key_presses(
    x_display, tk_target, speech, tmp_path, tray_home
):
    """Four phrases play from the WAV "mic" while the VAD is off. Hold <cmd>+p over phrase 2 only, press
    <cmd>+t before phrase 3 (listening on) and again before phrase 4 (listening off): exactly phrases 2 and 3
    are typed, and neither hotkey ever reaches the Tk window (its text would then differ)."""
    phrases = [known(speech.english, index) for index in range(3)] + [known(speech.mandarin, 0)]
    lead = 1.5
    gaps = [3.0, 4.0, 4.0, 1.0]  # wide enough for a key press in the middle on a loaded 2-core box
    parts = [silence(lead)]
    starts, ends = [], []
    cursor = lead
    for phrase, gap in zip(phrases, gaps, strict=True):
        starts.append(cursor)
        cursor += len(phrase.audio) / SAMPLE_RATE
        ends.append(cursor)
        parts += [phrase.audio, silence(gap)]
        cursor += gap
    wav = compose(tmp_path / "hotkeys.wav", parts)

    with ScriptedServer(phrases) as server:
        tray = start_tray(x_display, tray_home, "--server", server.url, "--input-wav", str(wav),
                          "--hotkey-push-to-talk", "<cmd>+p", "--hotkey-toggle", "<cmd>+t")
        try:
            tray.find_icon()
            tray.wait_state(ClientState.LISTENING, 60)  # the WAV "mic" starts playing now, the VAD off
            clock = WavClock(time.monotonic())
            assert "hotkeys registered" in tray.log_text()

            clock.sleep_until(ends[0] + gaps[0] / 2)  # in the silence between phrases 1 and 2
            pressed = time.monotonic()
            tray.key_down("super+p")
            tray.wait_state(ClientState.SPEECH, 3)  # recording while the key is held
            onset = tray.utterance_start_s("manual")
            assert ends[0] < onset < starts[1], f"the key went down at {onset:.2f} s of the WAV, not in the gap"
            clock.anchor(pressed, onset)  # the app logged where in the WAV the press landed: use it
            clock.sleep_until(ends[1] + gaps[1] / 2)  # in the silence after phrase 2
            tray.key_up("p")
            tray.key_up("super")
            # Phrase 2 alone is typed (phrase 1 was spoken while nothing listened). The next hotkey waits for
            # it: xdotool typing and pressing keys at once would interleave two streams of fake key events.
            assert tk_target.wait_for_text(phrases[1].text, gaps[1] / 2) == phrases[1].text
            assert clock.now() < starts[2] - 0.3, "too late to turn listening on before phrase 3"
            tray.key("super+t")  # toggle: listening on, the VAD takes phrase 3
            expected = f"{phrases[1].text} {phrases[2].text}"
            assert tk_target.wait_for_text(expected, ends[2] - clock.now() + 10) == expected
            assert clock.now() < starts[3] - 0.3, "too late to turn listening off before phrase 4"
            tray.key("super+t")  # toggle again: listening off, phrase 4 is not heard
            tray.wait_state(ClientState.OFF, ends[3] - clock.now() + 10)  # the WAV ended
            assert tk_target.text() == expected
            assert tray.quit() < QUIT_WALL_LIMIT_S
        finally:
            tray.close()
    assert server.log.abrupt_closes == 0  # Quit closed the connection properly


def start_quit_scenario(x_display, tmp_path, tray_home, server, sample: SpeechSample) -> TrayProcess:
    wav = compose(tmp_path / "quit.wav", [silence(1.0), sample.phrase_audio(0), silence(1.0)])
    tray = start_tray(x_display, tray_home, "--server", server.url, "--input-wav", str(wav),
                      "--start-listening")
    try:
        tray.find_icon()
        tray.wait_state(ClientState.TRANSCRIBING, 60)  # the utterance ended; its final is due
    except BaseException:
        tray.close()  # a stray app would dock its icon next to the next test's
        raise
    return tray


def test_quit_waits_briefly_for_a_pending_final_and_types_it_once(x_display, tk_target, speech, tmp_path,
                                                                   tray_home):
    phrase = known(speech.mandarin, 0)
    with ScriptedServer([phrase], final_delay_s=0.3) as server:
        tray = start_quit_scenario(x_display, tmp_path, tray_home, server, speech.mandarin)
        try:
            assert tray.quit() < QUIT_WALL_LIMIT_S
        finally:
            tray.close()
    assert quit_seconds_from_log(tray) < QUIT_BUDGET_S
    assert "no utterance was dropped" in tray.log_text()
    assert tk_target.wait_for_text(phrase.text, 5) == phrase.text
    assert tk_target.settled_text() == phrase.text, "the app is gone; the text was typed once"


def test_quit_with_a_final_that_never_comes_says_it_was_dropped(x_display, tk_target, speech, tmp_path,
                                                               tray_home):
    phrase = known(speech.mandarin, 0)
    with ScriptedServer([phrase], final_delay_s=NEVER) as server:
        tray = start_quit_scenario(x_display, tmp_path, tray_home, server, speech.mandarin)
        try:
            assert tray.quit() < QUIT_WALL_LIMIT_S
        finally:
            tray.close()
    assert quit_seconds_from_log(tray) < QUIT_BUDGET_S
    assert "1 utterance(s) still waiting for their final were dropped" in tray.log_text()
    assert tk_target.settled_text() == "", "nothing is typed after Quit"
    # ...and the words are not lost: the utterance's audio is kept for the user.
    (kept,) = (tray_home / "state").rglob("untranscribed/*.wav")
    assert f"their audio is kept in {kept}" in tray.log_text() and kept.stat().st_size > 16_000
