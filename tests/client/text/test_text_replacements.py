"""Replacements: whole Latin words in any case, CJK substrings, exact values, longest key first, one pass."""

from __future__ import annotations

import pytest

from tray_client.text.chinese_script import ScriptConverter
from tray_client.text.replacements import Replacements

TABLE = {
    "open ai": "OpenAI",
    "ai": "AI",
    "chat gpt": "ChatGPT",
    "我司": "我们公司",
    "通义千问": "Qwen",
    "千问": "Qwen (千问)",
    "k8s": "Kubernetes",
}


@pytest.mark.parametrize(("final", "expected"), [
    ("I asked Open AI about it.", "I asked OpenAI about it."),
    ("OPEN AI and open ai and Open  AI.", "OpenAI and OpenAI and OpenAI."),
    ("Chat GPT, ai, and AI agents.", "ChatGPT, AI, and AI agents."),
    ("The rain in Spain.", "The rain in Spain."),  # "ai" inside words is not a word
    ("reopen aid", "reopen aid"),
    ("我司今年用了通义千问。", "我们公司今年用了Qwen。"),  # longest key wins over "千问"
    ("千问很好用。", "Qwen (千问)很好用。"),
    ("我司用open ai的接口，k8s部署。", "我们公司用OpenAI的接口，Kubernetes部署。"),  # Latin next to CJK
    ("Deploy on k8s, not k8sx.", "Deploy on Kubernetes, not k8sx."),
])
def test_replacements_on_model_output(final, expected):
    assert Replacements(TABLE).apply(final) == expected


def test_values_are_never_replaced_again():
    assert Replacements({"a": "b", "b": "c"}).apply("a b") == "b c"


def test_ties_keep_the_order_written():
    assert Replacements({"ab": "first", "AB": "second"}).apply("ab") == "first"


def test_keys_also_match_text_in_the_chosen_script():
    script = ScriptConverter("traditional")
    replacements = Replacements({"软件": "軟體"}, normalize_key=script.convert)
    assert replacements.apply(script.convert("这个软件很好。")) == "這個軟體很好。"


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="control characters"):
        Replacements({"sig": "Best,\nMe"})
    with pytest.raises(ValueError, match="empty key"):
        Replacements({" ": "x"})
    assert not Replacements({})


def test_a_large_table_with_shared_prefixes_picks_the_longest_whole_key():
    table = {f"project {n}": f"Project-{n}" for n in range(120)} | {f"客户{n}号": f"客户No.{n}" for n in range(40)}
    replacements = Replacements(table)
    assert replacements.apply("Project 10 and project 1, not project 1000 or project 1x.") == \
        "Project-10 and Project-1, not project 1000 or project 1x."
    assert replacements.apply("客户3号和客户30号都到了。") == "客户No.3和客户No.30都到了。"
