"""Chinese and English ITN against tables of real sentences (tests/client/text/data/itn_*.tsv), and in the stage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tray_client.config import ClientConfig
from tray_client.text.itn_en import normalize_english
from tray_client.text.itn_zh import EXCEPTIONS, normalize_chinese
from tray_client.text.profiles import base_profile, profile_for
from tray_client.text.stage import TextStage

DATA = Path(__file__).parent / "data"


def _table(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            spoken, written = line.split("\t")
            rows.append((spoken, written))
    return rows


ZH = _table("itn_zh.tsv")
EN = _table("itn_en.tsv")


def test_the_tables_hold_enough_real_sentences():
    assert len(ZH) >= 100 and len(EN) >= 50


@pytest.mark.parametrize(("spoken", "written"), ZH, ids=[s for s, _ in ZH])
def test_chinese_table(spoken, written):
    assert normalize_chinese(spoken) == written


@pytest.mark.parametrize(("spoken", "written"), EN, ids=[s for s, _ in EN])
def test_english_table(spoken, written):
    assert normalize_english(spoken) == written


@pytest.mark.parametrize("word", ["万一", "一下", "一起", "一定", "一些", "一直", "十分", "三心二意", "九死一生"])
def test_the_seeded_exceptions_stay_words_alone_and_in_a_sentence(word):
    assert word in EXCEPTIONS
    assert normalize_chinese(word) == word
    assert normalize_chinese(f"他说{word}。") == f"他说{word}。"


def test_every_exception_stays_a_word():
    for word in EXCEPTIONS:
        assert normalize_chinese(word) == word, word


def test_text_without_numerals_comes_back_unchanged():
    for text in ("你好，世界。", "Hello, world.", "", "😀 emoji"):
        assert normalize_chinese(text) == text and normalize_english(text) == text


def test_the_stage_writes_chinese_digits_by_default_and_english_only_when_asked():
    stage = TextStage()
    config = ClientConfig()
    plan = stage.process("百分之五十的人 fifty percent agreed", base_profile(config))
    assert plan.text == "50%的人 fifty percent agreed"
    plan = stage.process("百分之五十的人 fifty percent agreed", base_profile(replace(config, itn_english=True)))
    assert plan.text == "50%的人 50% agreed"
    off = base_profile(replace(config, itn_chinese=False))
    assert stage.process("百分之五十", off).text == "百分之五十"


def test_the_stage_preview_shows_digits_as_the_final_will():
    assert TextStage().preview("三点半开会", base_profile(ClientConfig())) == "3:30开会"


def test_an_app_can_turn_number_writing_off_or_on():
    config = ClientConfig(apps={"code": {"itn_chinese": False, "itn_english": True}})
    profile = profile_for(config, ("code",))
    assert not profile.itn_chinese and profile.itn_english
    assert profile_for(config, ("notepad.exe",)).itn_chinese


def test_itn_runs_before_the_chinese_script_so_traditional_output_keeps_digits():
    profile = base_profile(ClientConfig(chinese_script="traditional"))
    assert TextStage().process("两万块", profile).text == "2萬塊"


def test_trim_punctuation_drops_the_models_full_stop_but_keeps_a_spoken_one():
    config = ClientConfig(apps={"chatapp": {"trim_punctuation": True}})
    chat, editor = profile_for(config, ("chatapp",)), profile_for(config, ("editor",))
    stage = TextStage()
    assert stage.process("好的，明天见。", chat).text == "好的，明天见"
    assert stage.process("Sounds good.", chat).text == "Sounds good"
    assert stage.process("Really?", chat).text == "Really?"  # a question stays a question
    assert stage.process("好的句号。", chat).text == "好的。"  # the user said the mark
    assert stage.process("好的，明天见。", editor).text == "好的，明天见。"
