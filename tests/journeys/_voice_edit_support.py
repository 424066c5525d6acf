"""The voice edit journeys' helpers: the user's clipboard (xclip), and a spoken instruction whose audio the
client's WAV "mic" plays while the test drives the hotkey at known moments."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dictation_devtools.desktop import XDisplay
from dictation_devtools.polling import wait_for
from dictation_devtools.speech import SAMPLE_RATE, synthesize_phrase
from dictation_devtools.stand_in_backends import KnownPhrase
from tests.desktop.test_tray_e2e import WavClock, compose, silence
from tests.desktop.tray_harness import TrayProcess

LEAD_S = 8.0  # silence before the instruction: room to select, press the hotkey and copy on a loaded machine
TAIL_S = 14.0


@dataclass(frozen=True)
class SpokenInstruction:
    phrase: KnownPhrase
    wav: Path
    start_s: float
    end_s: float


def spoken_instruction(text: str, workdir: Path) -> SpokenInstruction:
    """`text` said by espeak-ng, LEAD_S into a WAV that then stays silent for TAIL_S."""
    workdir.mkdir(parents=True, exist_ok=True)
    audio = synthesize_phrase(text, "en-us", workdir, "instruction")
    wav = compose(workdir / "instruction.wav", [silence(LEAD_S), audio, silence(TAIL_S)])
    return SpokenInstruction(KnownPhrase(text, audio), wav, LEAD_S, LEAD_S + len(audio) / SAMPLE_RATE)


def set_clipboard(display: XDisplay, text: str) -> None:
    """The user copied `text` (xclip keeps serving it in the background)."""
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=text.encode(), env=display.env(),
                   check=True, timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def clipboard(display: XDisplay) -> str:
    result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=display.env(), capture_output=True,
                            timeout=10)
    return result.stdout.decode()


def speak_instruction(tray: TrayProcess, clock: WavClock, spoken: SpokenInstruction, hotkey: str) -> float:
    """Press the voice edit hotkey before the instruction plays and again after it; return where in the WAV the
    recording started (from the app's log)."""
    tray.key(hotkey)
    assert wait_for(lambda: "started (manual)" in tray.log_text(), 20), tray.log_text()[-3000:]
    seen = time.monotonic()
    onset = float(re.findall(r"utterance \S+ started \(manual\) at ([0-9.]+) s", tray.log_text())[-1])
    clock.anchor(seen, onset)  # the WAV was at `onset` before we saw it: waiting from here errs on the late side
    clock.sleep_until(spoken.end_s + 1.5)  # the WAV's own clock: the instruction has played
    tray.key(hotkey)
    return onset
