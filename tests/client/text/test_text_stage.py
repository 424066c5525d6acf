"""The whole text stage on realistic finals: sanitize, commands, clean-up, script, replacements, suffix."""

from __future__ import annotations

from dictation_devtools.fake_chat import FakeChat
from tray_client.config import ClientConfig
from tray_client.sinks.keys import Key
from tray_client.text.cleanup import CleanupClient, CleanupSettings
from tray_client.text.profiles import base_profile, profile_for
from tray_client.text.stage import TextStage

NL = Key.NEWLINE


def plan(raw: str, config: ClientConfig, language: str = "", stage: TextStage | None = None):
    return (stage or TextStage()).process(raw, base_profile(config), language)


def test_defaults_only_sanitize_and_obey_commands():
    result = plan("Hello, new line, world.", ClientConfig())
    assert (result.steps, result.raw, result.text) == (("Hello", NL, "world."), "Hello, new line, world.",
                                                       "Hello\nworld.")
    assert plan("这是简体中文。", ClientConfig()).steps == ("这是简体中文。",)


def test_model_control_characters_never_become_keys():
    result = plan("Hello\r\nworld\x1b[A\x00 new line\tend.", ClientConfig())
    assert result.steps == ("Hello world[A new line end.",)
    assert all(isinstance(step, str) and "\n" not in step for step in result.steps)


def test_script_then_replacements_then_suffix_on_every_text_piece():
    config = ClientConfig(chinese_script="traditional", suffix=" ",
                          replacements={"通义千问": "Qwen", "open ai": "OpenAI", "软件": "軟體"})
    result = plan("我们用通义千问和open ai的软件，换行，效果很好。", config, "Chinese")
    assert result.steps == ("我們用Qwen和OpenAI的軟體", NL, "效果很好。 ")


def test_no_suffix_after_a_trailing_key():
    assert plan("Looks good, press enter.", ClientConfig(suffix=" ")).steps == ("Looks good", Key.ENTER)


def test_undo_and_stop_listening_come_through():
    result = plan("Scratch that.", ClientConfig())
    assert (result.steps, result.undo_previous) == ((), 1)
    assert plan("停止听写。", ClientConfig()).stop_listening


def test_commands_off_for_an_app_types_the_words():
    config = ClientConfig(apps={"code": {"voice_commands": False}})
    result = TextStage().process("Hello, new line, world.", profile_for(config, ["Code"]))
    assert result.steps == ("Hello, new line, world.",)


def test_cleanup_runs_per_text_piece_and_keeps_the_raw_text():
    config = ClientConfig(cleanup=True)
    with FakeChat() as chat:
        client = CleanupClient(CleanupSettings(chat.url))
        stage = TextStage(cleaner=lambda: client)
        result = stage.process("um, so, new paragraph, uh, the numbers look fine.", base_profile(config))
        stage.close()
    assert result.raw == "um, so, new paragraph, uh, the numbers look fine."
    assert result.steps == ("So", NL, NL, "The numbers look fine.")
    assert [r["messages"][1]["content"] for r in chat.requests] == ["um, so", "uh, the numbers look fine."]
    assert result.cleanup_skipped == ""


def test_cleanup_wanted_but_failing_outputs_the_words_and_says_why():
    with FakeChat("runaway") as chat:
        stage = TextStage(cleaner=lambda: CleanupClient(CleanupSettings(chat.url)))
        result = stage.process("uh, hello.", base_profile(ClientConfig(cleanup=True)))
    assert result.steps == ("uh, hello.",) and "grew" in result.cleanup_skipped
    unset = TextStage().process("uh, hello.", base_profile(ClientConfig(cleanup=True)))
    assert unset.steps == ("uh, hello.",) and "cleanup_url" in unset.cleanup_skipped


def test_long_runaway_finals_are_still_cut():
    result = TextStage(max_chars=50).process("word " * 40, base_profile(ClientConfig()))
    assert len(result.text) <= 50


def test_partials_preview_the_script_and_replacements_but_not_commands():
    config = ClientConfig(chinese_script="traditional", replacements={"我司": "我们公司"})
    preview = TextStage().preview("我司的软件\x07，新段落", base_profile(config), "Chinese")
    assert preview == "我们公司的軟件，新段落"
