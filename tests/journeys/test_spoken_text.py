"""The user dictates numbers and punctuation into their editor and a chat app, with the client started as a
user starts it: spoken Chinese numbers arrive as digits (idioms stay words), a spoken "逗号"/"句号" arrives as
its mark, and in the app whose [apps] table says trim_punctuation the model's closing full stop is gone."""

from __future__ import annotations

import pytest

from dictation_devtools.desktop import start_tk_target
from tests.client.protocol_server import ProtocolServer
from tests.journeys._hostile_server_support import run_headless, scripted, user_env

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]

CONFIG = """
[apps."Chatapp"]
trim_punctuation = true
"""


@pytest.mark.parametrize(("wm_class", "said", "typed"), [
    ("Notesapp", "会议定在二零二六年十二月七号下午三点半，万一下雨就改到百分之五十的人能来的那天。",
     "会议定在2026年12月7日下午3:30，万一下雨就改到50%的人能来的那天。"),
    ("Notesapp", "你好，逗号，明天见句号", "你好，明天见。"),
    ("Chatapp", "好的，明天见。", "好的，明天见"),
    ("Chatapp", "好的句号", "好的。"),
])
def test_numbers_and_spoken_punctuation_arrive_as_the_user_means(speech, x_display, tmp_path, wm_class, said,
                                                                 typed):
    sample = speech.mandarin
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    window = start_tk_target(x_display, tmp_path / "window", wm_class)
    try:
        with ProtocolServer(scripted(sample, said)) as server:
            result = run_headless(tmp_path, "--server", server.url, "--input-wav", str(sample.path),
                                  "--output", "type", "--fast", "--config-file", str(config),
                                  env=user_env(tmp_path, **x_display.env()))
        assert result.returncode == 0, result.stderr[-3000:]
        assert window.wait_for_text(typed) == typed
    finally:
        window.close()
