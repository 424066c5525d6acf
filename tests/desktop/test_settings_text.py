"""The settings window's text-stage fields: Chinese script, voice commands, replacements as lines, saved as the
[replacements] table the loader reads back, with the user's other tables and comments kept."""

from __future__ import annotations

import pytest

from tests.desktop.test_settings import window  # noqa: F401 - the window fixture, reused
from tray_client.config import ClientConfig, load_config
from tray_client.text.replacements import format_lines, parse_lines
from tray_client.ui.settings_model import check, update_toml_text


def test_replacements_lines_round_trip_and_bad_lines_are_named():
    table = {"open ai": "OpenAI", "我司": "我们公司", "a=b": "c"}
    assert parse_lines("open ai = OpenAI\n\n# mine\n我司=我们公司\n") == {"open ai": "OpenAI", "我司": "我们公司"}
    assert parse_lines(format_lines({"open ai": "OpenAI"})) == {"open ai": "OpenAI"}
    assert parse_lines(format_lines(table))["a"] == "b = c"  # the first "=" splits: keys cannot hold one
    with pytest.raises(ValueError, match=r"line 2 \('OpenAI'\)"):
        parse_lines("k8s = Kubernetes\nOpenAI\n")


def test_check_takes_replacement_lines_and_reports_a_bad_one_beside_the_field():
    result = check(ClientConfig(), {"replacements": "open ai = OpenAI\n", "chinese_script": "traditional",
                                    "voice_commands": False})
    assert result.changes == {"replacements": {"open ai": "OpenAI"}, "chinese_script": "traditional",
                              "voice_commands": False}
    bad = check(ClientConfig(), {"replacements": "open ai\n", "chinese_script": "klingon"})
    assert "words = replacement" in bad.errors["replacements"] and "simplified" in bad.errors["chinese_script"]


def test_a_changed_table_replaces_its_section_and_keeps_the_rest():
    text = ('mode = "ptt"\n\n[replacements]\n# names\n"open ai" = "OpenAI"\n\n'
            '[apps."kitty"]\nsuffix = " "\n')
    updated = update_toml_text(text, {"replacements": {"我司": "我们公司"}, "mode": "vad"})
    assert updated == ('mode = "vad"\n\n[replacements]\n"我司" = "我们公司"\n# names\n\n'
                       '[apps."kitty"]\nsuffix = " "\n')
    assert update_toml_text('mode = "vad"\n', {"replacements": {"k8s": "Kubernetes"}}) == \
        'mode = "vad"\n\n[replacements]\n"k8s" = "Kubernetes"\n'


def test_the_window_saves_text_settings_the_loader_reads_back(window):  # noqa: F811 - the fixture
    form, root, path, saved = window
    assert form.get("replacements") == "open ai = OpenAI\n"
    form.set("replacements", "open ai = OpenAI\n我司 = 我们公司\n")
    form.set("chinese_script", "traditional")
    form.set("voice_commands", False)
    form.save()
    root.update()
    assert form.error("replacements") == "" and form.error("chinese_script") == ""
    config = load_config(["--config-file", str(path)])
    assert config.replacements == {"open ai": "OpenAI", "我司": "我们公司"}
    assert (config.chinese_script, config.voice_commands) == ("traditional", False)
    assert path.read_text(encoding="utf-8").startswith("# my dictation settings")
    assert saved[0][1]["replacements"] == {"open ai": "OpenAI", "我司": "我们公司"}


def test_a_bad_replacement_line_writes_nothing(window):  # noqa: F811 - the fixture
    form, root, path, saved = window
    before = path.read_text(encoding="utf-8")
    form.set("replacements", "open ai OpenAI\n")
    form.save()
    root.update()
    assert "line 1" in form.error("replacements")
    assert path.read_text(encoding="utf-8") == before and saved == []
