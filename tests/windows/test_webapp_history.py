"""The History page's recovered audio served by the Windows build: a recording left in the Windows
`untranscribed` folder (%LOCALAPPDATA%) is listed by `python -m tray_client open history` run by the Windows Python
under Wine, and Transcribe (from the Linux Chromium; Wine shares the loopback network) sends it to the real server
and moves it to `transcribed`, so the Windows paths and uploads of keep.py and audio_api.py are proven. And a left
click on the Windows icon opens the window when tray_left_click says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from tests.journeys._webapp_support import chromium, show
from tests.windows.harness import poll
from tests.windows.test_webapp import _linux_path, windows_open
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
        with windows_open(wine_lane, "history") as url, chromium() as page:
            show(page, url)
            item = page.locator("#recovered li[data-name='s0win-1.wav']")
            before = page.locator("#history-table tbody tr[data-id]", has_text=phrase).count()
            item.locator("button.transcribe").click()
            page.wait_for_selector("#recovered li[data-done] .heard-text")
            assert item.locator(".heard-text").inner_text() == phrase
            # One more entry with those words (the lane's Windows profile keeps its history from run to run).
            page.wait_for_function("([text, n]) => [...document.querySelectorAll('#history-table tbody tr[data-id]')]"
                                   ".filter((row) => row.textContent.includes(text)).length > n",
                                   arg=[phrase, before])
            (artifacts_dir / "webapp").mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts_dir / "webapp" / "windows-history-recovered.png"))
    assert not left.exists() and (waiting / "transcribed" / "s0win-1.wav").exists()


def test_a_left_click_opens_the_window_when_the_setting_says_so(start_tray, notepad):
    """tray_left_click = "window": the Windows icon's left click (the shell's callback to pystray's window) starts
    the web app and opens it, and listening stays off."""
    tray = start_tray(tray_left_click="window")
    tray.wait_connected()
    seen = len(tray.tips())
    notepad.call("tray_click", button="left")
    poll(lambda: "web app on http://127.0.0.1:" in tray.text_output(), 60, what="the web app to start on the click")
    assert not any(tip.startswith("Dictation: listening") for tip in tray.tips()[seen:])
