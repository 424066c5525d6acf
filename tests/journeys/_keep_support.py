"""Helpers for the keep-your-words journeys: a tray run dictating into a server that is down, and what it left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import KnownPhrase
from dictation_devtools.servers import free_port
from tests.desktop.test_tray_e2e import compose, silence
from tests.desktop.tray_harness import TrayProcess, start_tray

STARTUP_S = 120.0  # torch and Silero load slowly on a shared 2-core machine


def held_audio(home: Path) -> dict[str, int]:
    """The write-ahead files of the app's spool folders: utterance id -> bytes."""
    return {path.stem: path.stat().st_size for path in (home / "state").rglob("spool/*/*.pcm")}


def dictate_while_the_server_is_down(x_display, tmp_path: Path, home: Path, phrase: KnownPhrase
                                     ) -> tuple[TrayProcess, int]:
    """Start the tray as a user does, with the server down, and say `phrase`; return once its audio is held
    (the whole phrase is on disk). Returns the app and the port it keeps trying."""
    port = free_port()
    wav = compose(tmp_path / "said.wav", [silence(1.0), phrase.audio, silence(1.5)])
    tray = start_tray(x_display, home, "--server", f"ws://127.0.0.1:{port}", "--input-wav", str(wav),
                      "--start-listening", as_module=True)
    try:
        tray.find_icon(STARTUP_S)
        assert wait_for(lambda: sum(held_audio(home).values()) >= 2 * len(phrase.audio), STARTUP_S), \
            f"held: {held_audio(home)}\n{tray.log_text()[-3000:]}"
    except BaseException:
        tray.close()
        raise
    return tray, port


def history_rows(tray: TrayProcess) -> list[dict[str, object]]:
    """What `python -m tray_client history --json` shows the user (the tray's Recent reads the same store)."""
    listed = subprocess.run([sys.executable, "-m", "tray_client", "history", "--json"], env=tray.env,
                            capture_output=True, timeout=60, text=True, encoding="utf-8")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)
