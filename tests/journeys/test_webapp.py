"""The app's window, as a user meets it: a local web page in their browser (Debian's chromium here).

With the tray running: `python -m tray_client open` asks the tray to open its window (the tray starts its web
server on first use and opens the default browser); a wrong setting is refused beside its field, a right one
(Chinese script) applies at once; a replacement added in the Dictionary shows in the next dictation; the
history is searched in Chinese and exported. Without a tray: `python -m tray_client open` serves the pages
itself (each page in English and Chinese, screenshots in test-artifacts/webapp).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import KnownPhrase
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
from tray_client.history.store import HistoryEntry, HistoryStore

pytestmark = [pytest.mark.journey, pytest.mark.slow]
PAGES = ("settings", "history", "dictionary", "profiles", "stats")


@pytest.mark.desktop
def test_settings_and_dictionary_from_the_browser_apply_to_the_next_dictation_and_the_history_exports(
    user_desktop: UserDesktop, speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path
):
    english = KnownPhrase(speech.english.phrases[0].text, speech.english.phrase_audio(0))  # "... dictation test"
    mandarin = KnownPhrase(speech.mandarin.phrases[1].text, speech.mandarin.phrase_audio(1))  # 今天天气很好
    shots = artifacts_dir / "webapp"
    shots.mkdir(exist_ok=True)
    mic = np.concatenate([silence(LEAD_S), english.audio, silence(1.2), mandarin.audio, silence(0.6)])
    with tray_with_browser(user_desktop, tmp_path, monkeypatch, [english, mandarin], mic) as run:
        tray, editor, home = run.tray, run.editor, run.home
        started = time.monotonic()
        # The user asks for the app's window from a terminal; the tray opens it in the default browser.
        url = open_from_terminal(tray.env, run.opened)
        assert url.startswith("http://127.0.0.1:") and url.endswith("page=settings")
        with chromium() as page:
            show(page, url)
            # A wrong value: the loader's message beside the field, nothing written.
            page.fill("#f-vad_threshold", "2")
            page.click("#settings-form button[type=submit]")
            page.wait_for_selector("#f-vad_threshold-error:has-text('between 0 and 1')")
            assert "vad_threshold" not in (home / "config.toml").read_text()
            page.fill("#f-vad_threshold", "0.5")
            page.select_option("#f-chinese_script", "traditional")
            page.click("#settings-form button[type=submit]")
            page.wait_for_selector("#status:has-text('chinese_script')")
            page.screenshot(path=str(shots / "tray-settings-saved.png"))
            assert 'chinese_script = "traditional"' in (home / "config.toml").read_text()
            show(page, "dictionary")
            page.fill("#f-replacements", "dictation = Qwen Dictation\n")
            page.click("#dictionary-form button[type=submit]")
            page.wait_for_selector("#status.ok:has-text('Saved')")
            assert "[replacements]" in (home / "config.toml").read_text()
            # Both apply at once: the next dictation (listening on with a click) uses them.
            assert time.monotonic() - started < LEAD_S - 2, "the browser steps took longer than the silence"
            tray.click()
            editor.focus()
            expected = "hello world this is a Qwen Dictation test 今天天氣很好"
            assert editor.wait_for_text(expected, 90) == expected
            # The history, searched in Chinese (the words as heard, simplified, find the typed entry).
            show(page, "history")
            page.fill("#history-search", "天气")
            page.wait_for_selector("#history-table[data-shown^='q=%E5%A4%A9%E6%B0%94&']")
            page.wait_for_selector("#history-table tbody tr:has-text('今天天氣很好')")
            assert page.locator("#history-table tbody tr").count() == 1
            page.screenshot(path=str(shots / "tray-history-search.png"))
            page.fill("#history-search", "")
            page.wait_for_selector("#history-table[data-shown^='q=&']")
            with page.expect_download() as download:
                page.click("#export-csv")
            saved = shots / "history.csv"
            download.value.save_as(saved)
            rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
            assert [row["text"] for row in rows] == ["今天天氣很好", "hello world this is a Qwen Dictation test"]
            assert all(row["time"][:4].isdigit() and row["time"][10] == "T" for row in rows)
        assert tray.quit(30) < 30


def _seed_history(data_home: Path) -> None:
    store = HistoryStore(data_home / "qwen-dictation" / "history.sqlite3")
    now = time.time()
    samples = [("Let's meet at the café at three.", "thunderbird"), ("今天天气很好，我们去公园散步吧。", "gedit"),
               ("git commit -m 'fix the build'", "kitty"), ("Please send the report before noon.", "thunderbird"),
               ("你好世界", "gedit")]
    for day in range(6, -1, -1):
        for index, (text, app) in enumerate(samples[: 2 + (day * 3) % 4]):
            silence, server, typing = 0.32, 0.12 + 0.02 * ((day + index) % 5), 0.03 + 0.01 * index
            store.add(HistoryEntry(now - day * 86400 - index * 600, text, text.lower(), "", 2.0,
                                   silence + server + typing, silence, server, typing, app, "type"))
    store.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_without_a_tray_open_serves_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path,
                                               locale: str):
    browser_program, opened = recording_browser(tmp_path / "browser")
    env = {**os.environ, "BROWSER": str(browser_program), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHONPATH": str(REPO_ROOT)}
    _seed_history(tmp_path / "data")
    config = tmp_path / "config" / "qwen-dictation" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('# my settings\nserver = "ws://127.0.0.1:9"\n\n[apps."kitty"]\noutput = "clipboard"\n')
    shots = artifacts_dir / "webapp" / locale
    shots.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "tray_client", "open", "history"], env=env, cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = wait_for_opened_url(opened)
        with chromium(locale) as page:
            show(page, url)
            for name in PAGES:
                show(page, name)
                if name == "stats":
                    page.wait_for_selector("#server-health[data-checked]:has-text('unreachable'), "
                                           "#server-health[data-checked]:has-text('无法连接')")
                page.screenshot(path=str(shots / f"{name}.png"), full_page=False)
            heading = page.locator("nav a[data-page=stats]").inner_text()
            assert heading == ("统计" if locale == "zh-CN" else "Stats")
            show(page, "settings")
            page.click("#mic-listen")  # the live meter streams (here with the reason it hears nothing, if any)
            page.wait_for_selector("#mic-level[data-seen]")
            page.click("#mic-listen")
            page.click("#test-connection")  # nothing listens on port 9: the reason is shown
            page.wait_for_selector("#connection-result:not(:text-is('…')):not(:text-is(''))")
            assert page.locator("#connection-result").inner_text().startswith(("unreachable", "无法连接"))
            # Hotkeys are recorded from real key presses; two on the same keys are refused beside the field.
            page.click('button[data-record="hotkey_undo"]')
            page.keyboard.press("Control+Alt+KeyU")
            assert page.input_value("#f-hotkey_undo") == "<ctrl>+<alt>+u"
            page.click('button[data-record="hotkey_toggle"]')
            page.keyboard.press("Control+Alt+Space")
            page.click("#settings-form button[type=submit]")
            page.wait_for_selector("[id^='f-hotkey_'][id$='-error']:has-text('hotkey_')")
            assert "hotkey_undo" not in config.read_text()
            page.click('button[data-record="hotkey_toggle"]')
            page.keyboard.press("Control+Alt+KeyT")
            page.click("#settings-form button[type=submit]")
            page.wait_for_selector("#status.ok")
            assert 'hotkey_undo = "<ctrl>+<alt>+u"' in config.read_text()
            assert 'hotkey_toggle = "<ctrl>+<alt>+t"' in config.read_text()
            show(page, "profiles")
            assert page.locator("#profiles-table tr[data-app=kitty] select[data-key=output]").input_value() == \
                "clipboard"
            page.fill("#new-app", "thunderbird")  # offered from the history: the app used most lately
            page.click("#add-profile")
            page.select_option("#profiles-table tr[data-app=thunderbird] select[data-key=output]", "clipboard")
            page.click("#save-profiles")
            assert wait_for(lambda: '"thunderbird"' in config.read_text(), 30, 0.1), "the profile was not saved"
            text = config.read_text()
            assert text.startswith("# my settings\n")
            assert '"thunderbird" = {"output" = "clipboard"}' in text and '"kitty"' in text
            # The keyboard alone reaches every page (links, then the page's first control).
            page.keyboard.press("Escape")
            page.focus("nav a[data-page=settings]")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.wait_for_selector('main[data-ready="history"]')
            assert json.loads(page.evaluate("JSON.stringify(document.documentElement.lang)")) == \
                ("zh-CN" if locale == "zh-CN" else "en")
    finally:
        process.terminate()
        process.wait(30)
