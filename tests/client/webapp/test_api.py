"""The web app's API core without HTTP: settings saved through the loader's checks with only the changed keys
written (comments kept), the dictionary and profiles as lists, history search (CJK too), exports and stats."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from dictation_core.config import tomllib
from tray_client.history.store import HistoryEntry, HistoryStore
from tray_client.ui.settings.model import EDITABLE
from tray_client.webapp import history_page
from tray_client.webapp.api import ApiError, AppHooks, WebApi
from tray_client.webapp.settings_page import GROUPS, OTHER_PAGES


def entry(text: str, app: str = "gedit", when: float | None = None, latency: float | None = 0.5) -> HistoryEntry:
    return HistoryEntry(time=time.time() if when is None else when, text=text, raw=text, language="", audio_s=1.0,
                        latency_s=latency, silence_s=0.3 if latency else None, server_s=0.15 if latency else None,
                        typing_s=0.05 if latency else None, target_app=app, output="type")


@pytest.fixture
def api(tmp_path: Path) -> WebApi:
    saved: list[dict[str, object]] = []
    api = WebApi(AppHooks(config_file=str(tmp_path / "config.toml"), history_file=tmp_path / "h.sqlite3",
                          on_saved=saved.append))
    api.saved = saved  # type: ignore[attr-defined]
    return api


def test_every_persisted_setting_is_on_exactly_one_page() -> None:
    grouped = [name for names in GROUPS.values() for name in names]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) | OTHER_PAGES == EDITABLE


def test_a_save_writes_only_the_changed_keys_and_keeps_the_comments(api: WebApi, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my server\nserver = "ws://10.0.0.2:8765"  # the GPU box\n\n[replacements]\n"ai" = "AI"\n')
    values = {field["name"]: field["value"] for group in api.settings()["groups"] for field in group["fields"]}
    values["min_silence_ms"] = "300"
    values["language"] = "zh"
    result = api.save_settings(values)
    assert result == {"saved": ["language", "min_silence_ms"], "live": ["language"], "later": ["min_silence_ms"]}
    text = path.read_text()
    assert '# my server\nserver = "ws://10.0.0.2:8765"  # the GPU box\n' in text
    assert tomllib.loads(text) == {"server": "ws://10.0.0.2:8765", "min_silence_ms": 300, "language": "zh",
                                   "replacements": {"ai": "AI"}}
    assert api.saved == [{"language": "zh", "min_silence_ms": 300}]  # type: ignore[attr-defined]


def test_a_refused_value_is_reported_beside_its_field_and_nothing_is_written(api: WebApi, tmp_path: Path) -> None:
    with pytest.raises(ApiError) as refused:
        api.save_settings({"vad_threshold": "2", "server": "http://x", "min_silence_ms": "300",
                           "hotkey_toggle": "<ctrl>+<alt>+space", "hotkey_push_to_talk": "<ctrl>+<alt>+space"})
    assert refused.value.status == 422
    assert set(refused.value.errors) == {"vad_threshold", "server", "hotkey_push_to_talk"} or \
        set(refused.value.errors) == {"vad_threshold", "server", "hotkey_toggle"}
    assert "between 0 and 1" in refused.value.errors["vad_threshold"]
    assert not (tmp_path / "config.toml").exists()


def test_dictionary_lists_round_trip_and_bad_lines_are_named(api: WebApi, tmp_path: Path) -> None:
    api.save_page("dictionary", {"glossary": "Qwen\nvLLM\n", "replacements": "open ai = OpenAI\n",
                                 "commands": "next line = newline\n"})
    assert api.dictionary() == {"glossary": "Qwen\nvLLM\n", "replacements": "open ai = OpenAI\n",
                                "commands": "next line = newline\n"}
    with pytest.raises(ApiError) as refused:
        api.save_page("dictionary", {"replacements": "no equals sign here"})
    assert "line 1" in refused.value.errors["replacements"]


def test_profiles_are_saved_as_apps_tables_and_offer_apps_from_the_history(api: WebApi, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.add(entry("hello", app="kitty"))
    store.close()
    assert api.profiles()["suggestions"] == ["kitty"]
    api.save_page("profiles", {"apps": {"kitty": {"output": "clipboard", "voice_commands": False, "suffix": "",
                                                  "glossary": "git, npm"}}})
    assert tomllib.loads((tmp_path / "config.toml").read_text())["apps"] == {
        "kitty": {"output": "clipboard", "voice_commands": False, "glossary": ["git", "npm"]}}
    assert api.profiles()["suggestions"] == []


def test_history_search_finds_chinese_and_filters_by_app_and_day(api: WebApi, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    yesterday = time.time() - 86400
    store.add(entry("今天天气很好", app="gedit"))
    store.add(entry("the weather is nice", app="kitty"))
    store.add(entry("天气预报", app="kitty", when=yesterday))
    store.close()
    assert [e["text"] for e in api.history(search="天气")["entries"]] == ["今天天气很好", "天气预报"]
    assert [e["text"] for e in api.history(search="天气", app="kitty")["entries"]] == ["天气预报"]
    today = history_page.start_of_day(time.time())
    assert [e["text"] for e in api.history(since=today)["entries"]] == ["the weather is nice", "今天天气很好"]
    first = api.history(search="天气预报")["entries"][0]
    assert api.delete(first["id"]) == {"deleted": first["id"]}
    assert api.history(search="天气预报")["entries"] == []
    with pytest.raises(ApiError):
        api.delete(first["id"])


def test_exports_have_iso_times_and_keep_cjk(api: WebApi, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.add(entry("你好，世界", when=1_765_000_000.0))
    store.close()
    rows = json.loads(api.export("json").body)
    assert rows[0]["text"] == "你好，世界" and rows[0]["time"].startswith("2025-12-0")
    assert rows[0]["time"][19] in "+-Z"  # an offset: no guessing the zone
    table = list(csv.DictReader(io.StringIO(api.export("csv").body.lstrip("\ufeff"))))
    assert table[0]["text"] == "你好，世界" and table[0]["time"] == rows[0]["time"]
    with pytest.raises(ApiError):
        api.export("xml")


def test_stats_per_day_have_percentiles_parts_and_words() -> None:
    now = time.time()
    rows = [entry("one two three", latency=0.4, when=now), entry("你好", latency=0.6, when=now),
            entry("four", latency=None, when=now)]
    [day] = history_page.daily_stats(rows)
    assert day["utterances"] == 3 and day["words"] == 6
    assert day["p50_s"] == 0.4 and day["p95_s"] == 0.6 and day["server_s"] == 0.15


def test_words_heard_again_can_be_typed_by_the_tray_and_bad_input_is_refused(tmp_path: Path) -> None:
    typed: list[str] = []
    api = WebApi(AppHooks(config_file=str(tmp_path / "config.toml"), history_file=tmp_path / "h.sqlite3",
                          type_text=typed.append))
    assert api.type_heard({"text": "hello DICTATION"}) == {"typed": 15}
    assert typed == ["hello DICTATION"]
    for bad in ({}, {"text": "  "}, {"text": 5}):
        with pytest.raises(ApiError) as refused:
            api.type_heard(bad)
        assert refused.value.status == 400 and "text" in str(refused.value)
    alone = WebApi(AppHooks(config_file=str(tmp_path / "config.toml"), history_file=tmp_path / "h.sqlite3"))
    with pytest.raises(ApiError) as no_tray:
        alone.type_heard({"text": "x"})
    assert no_tray.value.status == 409 and "tray app" in str(no_tray.value)
