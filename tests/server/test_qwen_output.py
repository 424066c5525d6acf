"""The vendored output parser (asr_server/backends/qwen_output.py) answers exactly as qwen_asr's own, and the
vLLM engine path loads without importing qwen_asr (that import costs seconds at start and pins old vLLM)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr_server.backends import qwen_output


@pytest.fixture(scope="module")
def upstream():
    """qwen_asr's own parser. Importing qwen_asr imports torch and transformers (half a minute on 2 busy cores), so
    it happens only in the tests that compare with it (slow), never while pytest collects this file."""
    return pytest.importorskip("qwen_asr.inference.utils")

CASES = [
    None, "", "   ", "language English<asr_text>hello world", "language Chinese\n<asr_text>你好",
    "language None<asr_text>", "language None<asr_text>stray", "no tag at all", "language cHINese<asr_text>x",
    "language English<asr_text>" + "ha" * 40, "a" * 50 + " b", "language <asr_text>text",
    "\nlanguage German\nmore\n<asr_text> guten tag ",
]


@pytest.mark.slow
@pytest.mark.parametrize("raw", CASES)
@pytest.mark.parametrize("forced", [None, "English"])
def test_parse_matches_upstream(upstream, raw, forced):
    assert qwen_output.parse_asr_output(raw, forced) == upstream.parse_asr_output(raw, user_language=forced)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab <>_langueEsr\n", max_size=80))
def test_parse_matches_upstream_on_any_text(upstream, raw):
    assert qwen_output.parse_asr_output(raw) == upstream.parse_asr_output(raw)


@pytest.mark.slow
def test_languages_and_padding_match_upstream(upstream):
    assert tuple(upstream.SUPPORTED_LANGUAGES) == qwen_output.SUPPORTED_LANGUAGES
    assert qwen_output.MIN_ASR_INPUT_SECONDS == upstream.MIN_ASR_INPUT_SECONDS


def test_the_engine_text_helper_loads_without_qwen_asr(tiny_checkpoint):
    code = ("import sys; from asr_server.backends.qwen_common import QwenText; "
            f"t = QwenText.load({str(tiny_checkpoint)!r}); assert t.parse('language English<asr_text>hi', None) "
            "== ('English', 'hi'); print('qwen_asr' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"
