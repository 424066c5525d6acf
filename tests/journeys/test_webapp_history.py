"""The History page as a user meets it: audio kept N days, played back and heard again by the server; recordings a
crash left, transcribed with one click; the glossary edited in the browser spelling the next dictation; a left
click on the tray icon that opens the window when the user asks for that.

With the tray started as a user does (`python -m tray_client`): Settings turns keep_audio_days on, the Dictionary
adds a glossary spelling, the user dictates into an editor and sees that spelling typed; the History page plays
the utterance's audio and Re-transcribe shows what the server hears now. Then Settings makes a left click open
the window, and a click on the icon opens the History page. Without a tray: `python -m tray_client open history`
lists a recording left in untranscribed/ and Transcribe puts its words in the history. Screenshots in
test-artifacts/webapp/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import KnownPhrase, ScriptedServer
from dictation_devtools.user_desktop import UserDesktop
from tests.desktop.tray_harness import REPO_ROOT
from tests.journeys._webapp_support import (
    LEAD_S,
    chromium,
    open_from_terminal,
    recording_browser,
    show,
    silence,
    tray_with_browser,
    wait_for_opened_url,
)
from tray_client.history.store import HistoryStore
from tray_client.keep import wav_bytes

pytestmark = [pytest.mark.journey, pytest.mark.slow]


@pytest.mark.desktop
def test_kept_audio_plays_and_is_heard_again_a_glossary_applies_live_and_a_left_click_opens_the_window(
    user_desktop: UserDesktop, speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path
):
    english = KnownPhrase(speech.english.phrases[0].text, speech.english.phrase_audio(0))  # "... dictation test"
    assert " dictation " in english.text
    shots = artifacts_dir / "webapp"
    shots.mkdir(exist_ok=True)
    mic = np.concatenate([silence(LEAD_S), english.audio, silence(1.2)])
    with tray_with_browser(user_desktop, tmp_path, monkeypatch, [english], mic, heed_glossary=True) as run:
        tray, opened, home = run.tray, run.opened, run.home
        kept = home / "state" / "qwen-dictation" / "log" / "kept-audio"
        started = time.monotonic()
        url = open_from_terminal(tray.env, opened)
        with chromium() as page:
            show(page, url)
            assert page.input_value("#f-keep_audio_days") == "0", "off by default"
            page.fill("#f-keep_audio_days", "7")
            page.click("#settings-form button[type=submit]")
            page.wait_for_selector("#status:has-text('keep_audio_days')")
            show(page, "dictionary")
            page.fill("#f-glossary", "DICTATION\n")
            page.click("#dictionary-form button[type=submit]")
            page.wait_for_selector("#status.ok:has-text('Saved')")
            assert 'glossary = ["DICTATION"]' in (home / "config.toml").read_text()
            assert time.monotonic() - started < LEAD_S - 2, "the browser steps took longer than the silence"
            tray.click()
            run.editor.focus()
            expected = english.text.replace("dictation", "DICTATION")
            assert run.editor.wait_for_text(expected, 90) == expected, "the glossary of the web app, no restart"
            assert wait_for(lambda: kept.is_dir() and any(kept.glob("*.pcm")), 30, 0.1), "no audio was kept"
            show(page, "history")
            row = page.locator("#history-table tbody tr", has_text=expected)
            row.wait_for()
            player = row.locator("audio")
            assert player.count() == 1
            # The audio is there to play: the browser reads its length from the WAV the app serves.
            player.evaluate("(audio) => audio.load()")
            page.wait_for_function("(audio) => audio.readyState >= 1 && audio.duration > 1",
                                   arg=player.element_handle())
            row.locator("button.retranscribe").click()
            heard = row.locator(".heard .heard-text")
            heard.wait_for()
            assert heard.inner_text() == expected
            assert row.locator(".heard button.type-heard").count() == 1, "the tray runs: the words can be typed"
            page.screenshot(path=str(shots / "tray-history-retranscribed.png"))
            # A left click that opens the window, chosen in Settings and applied at once.
            show(page, "settings")
            page.select_option("#f-tray_left_click", "window")
            page.click("#settings-form button[type=submit]")
            page.wait_for_selector("#status:has-text('tray_left_click')")
            clicks_before = len(opened.read_text().split())
            tray.click()
            assert wait_for(lambda: len(opened.read_text().split()) > clicks_before, 60, 0.1), \
                "a left click opened no window"
            history_url = opened.read_text().split()[-1]
            assert history_url.endswith("page=history")
            show(page, history_url)
        assert tray.quit(30) < 30


def test_a_recording_left_by_a_crash_is_transcribed_from_the_history_page(tmp_path: Path, speech,
                                                                          artifacts_dir: Path):
    phrase = speech.english.phrases[1]
    browser_program, opened = recording_browser(tmp_path / "browser")
    env = {**os.environ, "BROWSER": str(browser_program), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHONPATH": str(REPO_ROOT)}
    waiting = tmp_path / "state" / "qwen-dictation" / "log" / "untranscribed"
    waiting.mkdir(parents=True)
    (waiting / "s7c1-3.wav").write_bytes(wav_bytes(speech.english.phrase_audio(1).astype("<i2").tobytes()))
    config = tmp_path / "config" / "qwen-dictation" / "config.toml"
    config.parent.mkdir(parents=True)
    with ScriptedServer.for_sample(speech.english) as server:
        config.write_text(f'server = "{server.url}"\n')
        process = subprocess.Popen([sys.executable, "-m", "tray_client", "open", "history"], env=env,
                                   cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = wait_for_opened_url(opened)
            with chromium() as page:
                show(page, url)
                item = page.locator("#recovered li[data-name='s7c1-3.wav']")
                item.wait_for()
                assert page.locator("#history-table tbody tr", has_text=phrase.text).count() == 0
                (artifacts_dir / "webapp").mkdir(exist_ok=True)
                page.screenshot(path=str(artifacts_dir / "webapp" / "history-recovered.png"))
                item.locator("button.transcribe").click()
                page.wait_for_selector("#recovered li[data-done] .heard-text")
                assert item.locator(".heard-text").inner_text() == phrase.text
                page.locator("#history-table tbody tr", has_text=phrase.text).wait_for()
        finally:
            process.terminate()
            process.communicate(timeout=30)
    assert not (waiting / "s7c1-3.wav").exists() and (waiting / "transcribed" / "s7c1-3.wav").exists()
    store = HistoryStore(tmp_path / "data" / "qwen-dictation" / "history.sqlite3")
    assert [entry.text for entry in store.recent()] == [phrase.text]
    store.close()
