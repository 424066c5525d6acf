"""The History page's recovered audio served by the Windows build: a recording left in the Windows
`untranscribed` folder (%LOCALAPPDATA%) is listed by `python -m tray_client open history` run by the Windows Python
under Wine, and Transcribe (from the Linux Chromium; Wine shares the loopback network) sends it to the real server
and moves it to `transcribed`, so the Windows paths and uploads of keep.py and audio_api.py are proven."""

from __future__ import annotations

import queue
import subprocess
import threading
from pathlib import Path

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from tests.journeys._webapp_support import chromium, show
from tests.windows.harness import poll
from tests.windows.test_webapp import _linux_path
from tray_client.keep import wav_bytes

pytestmark = [pytest.mark.journey, pytest.mark.slow]


def test_the_windows_build_transcribes_a_recovered_recording(wine_lane, agent, speech, artifacts_dir: Path):
    paths = wine_lane.run("from tray_client.config import config_path\nfrom tray_client.keep import kept\n"
                          "print(config_path())\nprint(kept().untranscribed)").split()
    config, waiting = _linux_path(wine_lane, paths[0]), _linux_path(wine_lane, paths[1])
    config.parent.mkdir(parents=True, exist_ok=True)
    waiting.mkdir(parents=True, exist_ok=True)
    left = waiting / "s0win-1.wav"
    left.write_bytes(wav_bytes(speech.english.phrase_audio(1).astype("<i2").tobytes()))
    phrase = speech.english.phrases[1].text
    with ScriptedServer.for_sample(speech.english) as server:
        config.write_text(f'server = "{server.url}"\n', encoding="utf-8")
        process = wine_lane.start(["-m", "tray_client", "open", "history"], env={"BROWSER": "cmd.exe /c rem"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=lambda: [lines.put(line.decode("utf-8", "replace")) for line in process.stdout],
                         daemon=True).start()
        try:
            url = poll(lambda: next((line.strip() for line in iter(lambda: lines.get(timeout=60), None)
                                     if "/login?k=" in line), None), 90, what="the URL printed by `open`")
            with chromium() as page:
                show(page, url)
                item = page.locator("#recovered li[data-name='s0win-1.wav']")
                item.locator("button.transcribe").click()
                page.wait_for_selector("#recovered li[data-done] .heard-text")
                assert item.locator(".heard-text").inner_text() == phrase
                page.locator("#history-table tbody tr", has_text=phrase).wait_for()
                (artifacts_dir / "webapp").mkdir(exist_ok=True)
                page.screenshot(path=str(artifacts_dir / "webapp" / "windows-history-recovered.png"))
        finally:
            process.terminate()
            process.wait(30)
    assert not left.exists() and (waiting / "transcribed" / "s0win-1.wav").exists()
