"""Voice commands on finals as Qwen3-ASR writes them: capitals, commas, full stops, full-width Chinese marks."""

from __future__ import annotations

import pytest

from tray_client.sinks.keys import Key
from tray_client.text.commands import DEFAULT_COMMANDS, CommandParser, CommandPlan

NL, ENTER = Key.NEWLINE, Key.ENTER


@pytest.fixture(scope="module")
def parser() -> CommandParser:
    return CommandParser(DEFAULT_COMMANDS)


@pytest.mark.parametrize(("final", "steps"), [
    # English: as a clause of its own, at the end, alone
    ("Hello, new line, world.", ("Hello", NL, "world.")),
    ("Send the report by Friday, new paragraph, thanks.", ("Send the report by Friday", NL, NL, "thanks.")),
    ("First point. New line. Second point.", ("First point.", NL, "Second point.")),
    ("Please review the draft new line.", ("Please review the draft", NL)),
    ("New line.", (NL,)),
    ("new line", (NL,)),
    ("Newline.", (NL,)),
    ("Press Enter.", (ENTER,)),
    ("Looks good to me. Press enter.", ("Looks good to me.", ENTER)),
    ("Hello, new line, new line, world.", ("Hello", NL, NL, "world.")),
    # Chinese, with the full-width marks the model writes
    ("今天下午三点开会，换行，请准时参加。", ("今天下午三点开会", NL, "请准时参加。")),
    ("第一点是成本。换行。第二点是时间。", ("第一点是成本。", NL, "第二点是时间。")),
    ("今天就到这里换行。", ("今天就到这里", NL)),
    ("换行。", (NL,)),
    ("新段落。", (NL, NL)),
    ("另起一段。", (NL, NL)),
    ("回车。", (ENTER,)),
    ("好的，回车。", ("好的", ENTER)),
    ("換行。", (NL,)),
    # mixed
    ("我们用Qwen3-ASR，new line，效果很好。", ("我们用Qwen3-ASR", NL, "效果很好。")),
    ("这个bug修好了，press enter.", ("这个bug修好了", ENTER)),
])
def test_commands_are_found_with_the_models_punctuation_around_them(parser, final, steps):
    assert parser.parse(final).steps == steps


@pytest.mark.parametrize("final", [
    "We are launching a new line of products.",
    "The new line, however, is slower.",  # a clause on one side only
    "我们换行吧，这样更清楚。",
    "Press enter to continue, then wait.",
    "Scratch that idea, it was bad.",
    "这个回车键坏了。",
    "A newline character ends each record.",
])
def test_command_words_inside_running_prose_stay_text(parser, final):
    assert parser.parse(final) == CommandPlan((final,))


@pytest.mark.parametrize(("final", "steps"), [
    ("Dear team, new line, the build is green.", ("Dear team", NL, "the build is green.")),
    ("各位，换行，构建通过了。", ("各位", NL, "构建通过了。")),
    ("Is it green, new line, or not?", ("Is it green", NL, "or not?")),
])
def test_the_sentences_own_final_mark_stays_after_a_command(parser, final, steps):
    """It was dropped: "Dear team, new line, the build is green." typed "Dear team⏎the build is green"."""
    assert parser.parse(final).steps == steps


def test_scratch_that_alone_undoes_the_previous_dictation(parser):
    assert parser.parse("Scratch that.") == CommandPlan((), undo_previous=1)
    assert parser.parse("删掉上一句。") == CommandPlan((), undo_previous=1)
    assert parser.parse("Scratch that, I meant tomorrow.") == CommandPlan(("I meant tomorrow.",), undo_previous=1)


def test_scratch_that_after_words_drops_only_those_words(parser):
    assert parser.parse("Let's meet at five, scratch that, let's meet at six.") == CommandPlan(
        ("let's meet at six.",))
    assert parser.parse("明天见，删掉上一句。") == CommandPlan(())


def test_stop_listening_keeps_the_words_said_before_it(parser):
    assert parser.parse("That's all for today, stop listening.") == CommandPlan(
        ("That's all for today",), stop_listening=True)
    assert parser.parse("停止听写。") == CommandPlan((), stop_listening=True)


def test_the_command_list_is_configurable(parser):
    custom = CommandParser({**DEFAULT_COMMANDS, "next line": "newline", "new line": ""})
    assert custom.parse("Hello, next line, world.").steps == ("Hello", NL, "world.")
    assert custom.parse("Hello, new line, world.").steps == ("Hello, new line, world.",)
    assert CommandParser({}).parse("New line.").steps == ("New line.",)
    with pytest.raises(ValueError, match=r"'jump'.*newline, paragraph"):
        CommandParser({"go": "jump"})


def test_plan_text_shows_keys_as_line_breaks(parser):
    assert parser.parse("Hello, new paragraph, world.").text == "Hello\n\nworld."


# Spoken punctuation ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("final", "steps"), [
    ("你好，逗号，明天见。句号。", ("你好，明天见。",)),  # the model wrote the command as clauses of its own
    ("你好句号", ("你好。",)),  # at the end of the utterance
    ("太好了感叹号", ("太好了！",)),
    ("标题冒号", ("标题：",)),
    ("好吗？问号", ("好吗？",)),  # the spoken mark replaces the model's, never doubles it
    ("句号。", ("。",)),  # alone
    ("Dear John, comma, see you tomorrow.", ("Dear John, see you tomorrow.",)),
    ("Is it ready? Question mark.", ("Is it ready?",)),
    ("Great, exclamation mark.", ("Great!",)),
    ("Period.", (".",)),
    ("Note, colon, bring water.", ("Note: bring water.",)),
])
def test_spoken_punctuation_types_its_mark(final, steps):
    assert CommandParser(DEFAULT_COMMANDS).parse(final).steps == steps


@pytest.mark.parametrize("final", [
    "这里少了一个逗号。", "用逗号隔开", "结尾是问号", "注意冒号后面要空格", "这个句号不对。",
    "It was a long period.", "Add a comma here.", "I forgot the comma.", "That is a big question mark.",
    "The colon is part of the large intestine.",
])
def test_a_sentence_about_punctuation_stays_text(final):
    assert CommandParser(DEFAULT_COMMANDS).parse(final).steps == (final,)


def test_punctuation_phrases_can_be_turned_off_one_by_one():
    assert CommandParser({**DEFAULT_COMMANDS, "句号": ""}).parse("你好句号").steps == ("你好句号",)
