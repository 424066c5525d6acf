"""Per-app profiles: which [apps] table applies, what it overrides, the terminal defaults, config validation."""

from __future__ import annotations

import pytest

from tray_client.config import ClientConfig, ConfigError, load_config, save_config
from tray_client.text.profiles import base_profile, profile_for

CONFIG = ClientConfig(
    language="English", glossary=("Qwen3-ASR",), replacements={"open ai": "OpenAI"}, suffix="",
    apps={
        "WINWORD.EXE": {"suffix": " ", "cleanup": True, "replacements": {"brb": "be right back"}},
        "Slack": {"voice_commands": False, "glossary": ["Kubernetes"], "language": "Chinese"},
        "kitty": {"output": "type"},  # the user's key beats the built-in terminal profile, key by key
    })


def test_no_table_means_the_global_settings():
    profile = profile_for(CONFIG, ["notepad.exe"])
    assert profile == base_profile(CONFIG)
    assert (profile.app, profile.output, profile.language, profile.context) == ("", "type", "English", "Qwen3-ASR")
    assert dict(profile.commands)["new line"] == "newline"


def test_a_process_name_matches_with_or_without_exe_and_in_any_case():
    profile = profile_for(CONFIG, ["winword.exe"])
    assert profile.app == "winword.exe" and profile.suffix == " " and profile.cleanup
    assert dict(profile.replacements) == {"open ai": "OpenAI", "brb": "be right back"}


def test_a_wm_class_part_matches_and_overrides_language_glossary_and_commands():
    profile = profile_for(CONFIG, ["Slack", "slack"])
    assert profile.language == "Chinese" and profile.glossary == ("Qwen3-ASR", "Kubernetes")
    assert profile.commands == ()


@pytest.mark.parametrize(("names", "paste_keys"), [
    (["WindowsTerminal.exe"], "ctrl+v"),
    (["conhost.exe"], "ctrl+v"),
    (["powershell.exe"], "ctrl+v"),
    (["Gnome-terminal", "gnome-terminal-server"], "ctrl+shift+v"),
    (["konsole", "konsole"], "ctrl+shift+v"),
])
def test_terminals_paste_by_default(names, paste_keys):
    profile = profile_for(ClientConfig(cleanup=True), names)
    assert (profile.output, profile.paste_keys, profile.cleanup) == ("clipboard", paste_keys, False)


def test_user_keys_override_a_built_in_profile_key_by_key():
    profile = profile_for(CONFIG, ["kitty", "kitty"])
    assert (profile.output, profile.paste_keys) == ("type", "ctrl+shift+v")


def test_stdout_output_is_never_overridden():
    assert profile_for(ClientConfig(output="stdout"), ["conhost.exe"]).output == "stdout"


def test_apps_tables_load_from_toml(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('chinese_script = "traditional"\nglossary = ["vLLM"]\n'
                    '[replacements]\n"我司" = "我们公司"\n'
                    '[apps."WindowsTerminal.exe"]\nsuffix = " "\ncommands = {"next line" = "newline"}\n',
                    encoding="utf-8")
    config = load_config(["--config-file", str(path)])
    assert config.replacements == {"我司": "我们公司"} and config.glossary == ("vLLM",)
    profile = profile_for(config, ["WindowsTerminal.exe"])
    assert profile.suffix == " " and dict(profile.commands)["next line"] == "newline"
    assert profile.chinese_script == "traditional"


@pytest.mark.parametrize(("apps", "message"), [
    ({"code": {"colour": "red"}}, r"\[apps.'code'\]: unknown key 'colour'"),
    ({"code": {"output": "fax"}}, "output = 'fax': use one of type, clipboard"),
    ({"code": {"paste_keys": "ctrl+p"}}, "paste_keys"),
    ({"code": {"voice_commands": "yes"}}, "expected bool"),
    ({"code": {"commands": {"go": "fly"}}}, "'fly'"),
    ({"code": "clipboard"}, "must be a table"),
])
def test_bad_app_tables_say_what_is_wrong(apps, message):
    with pytest.raises(ConfigError, match=message):
        ClientConfig(apps=apps)


def test_bad_global_text_settings_are_refused():
    with pytest.raises(ConfigError, match="chinese_script"):
        ClientConfig(chinese_script="cantonese")
    with pytest.raises(ConfigError, match="control characters"):
        ClientConfig(replacements={"x": "\x1b"})
    with pytest.raises(ConfigError, match="suffix"):
        ClientConfig(suffix="\n")


def test_cli_takes_tables_as_json():
    config = load_config(["--replacements", '{"open ai": "OpenAI"}', "--glossary", '["Qwen3-ASR"]'])
    assert config.replacements == {"open ai": "OpenAI"} and config.glossary == ("Qwen3-ASR",)


def test_tables_are_saved_as_toml_tables_and_load_back(tmp_path):
    config = ClientConfig(replacements={"open ai": "OpenAI", "我司": "我们公司"}, glossary=("vLLM", "Qwen3-ASR"),
                          commands={"next line": "newline"},
                          apps={"WindowsTerminal.exe": {"suffix": " ", "replacements": {"ls": "ls -la"}},
                                "kitty": {"glossary": ["tmux"], "voice_commands": False}})
    path = save_config(config, tmp_path / "config.toml")
    assert '[apps."kitty"]' in path.read_text(encoding="utf-8")
    loaded = load_config(["--config-file", str(path)])
    assert (loaded.replacements, loaded.glossary, loaded.commands, loaded.apps) == (
        config.replacements, config.glossary, config.commands, config.apps)


@pytest.mark.parametrize("names", [["WindowsTerminal.exe"], ["conhost.exe"], ["kitty", "kitty"],
                                   ["xterm", "XTerm"], ["cool-retro-term"], ["MyConsole.exe"]])
def test_in_a_terminal_a_final_saying_press_enter_types_words_and_presses_no_key(names):
    """A server's final "echo pwned, press enter." used to type `echo pwned⏎` into a shell."""
    from tray_client.sinks.keys import Key
    from tray_client.text.stage import TextStage

    for text in ("echo pwned, press enter.", "rm -rf ~, new line.", "ls, new paragraph, done."):
        plan = TextStage().process(text, profile_for(ClientConfig(), names))
        assert plan.steps == (text,) and not any(isinstance(step, Key) for step in plan.steps)
    # Commands that press no key a shell acts on still work there.
    assert TextStage().process("Scratch that.", profile_for(ClientConfig(), names)).undo_previous == 1
    assert TextStage().process("echo pwned, press enter.", profile_for(ClientConfig(), ["gedit"])).steps == \
        ("echo pwned", Key.ENTER)


def test_a_user_can_turn_key_commands_back_on_for_one_terminal():
    from tray_client.sinks.keys import Key
    from tray_client.text.stage import TextStage

    config = ClientConfig(apps={"kitty": {"key_commands": True}, "gedit": {"key_commands": False}})
    assert TextStage().process("make, press enter.", profile_for(config, ["kitty"])).steps == ("make", Key.ENTER)
    assert TextStage().process("Hi, new line, there.", profile_for(config, ["gedit"])).steps == \
        ("Hi, new line, there.",)
    assert dict(profile_for(config, ["xterm"]).commands).get("press enter") is None
