"""The settings checks and writer the web app uses: Chinese script, voice commands, replacements as lines, saved
as the [replacements] table the loader reads back, with the user's other tables and comments kept."""

from __future__ import annotations

import pytest

from tray_client.config import ClientConfig
from tray_client.text.replacements import format_lines, parse_lines
from tray_client.ui.settings.model import check, update_toml_text


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


def test_a_changed_apps_table_replaces_the_per_app_sections():
    text = '# mine\n[apps."kitty"]\nsuffix = " "\n\n[replacements]\n"a" = "b"\n'
    updated = update_toml_text(text, {"apps": {"kitty": {"output": "clipboard"}}})
    assert updated == '# mine\n[replacements]\n"a" = "b"\n\n[apps]\n"kitty" = {"output" = "clipboard"}\n'


def test_an_empty_text_setting_is_empty_text_and_an_empty_optional_one_is_unset():
    result = check(ClientConfig(token="t", suffix="!"), {"suffix": "", "token": ""})
    assert result.errors == {} and result.changes == {"suffix": "", "token": None}
