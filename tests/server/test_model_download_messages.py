"""What the server says on a machine that cannot fetch the model: the hint names the model that was asked for,
and Hugging Face Hub's retry warnings appear once each (they were printed twice: the library's own handler and
ours), the same failure not repeated for every retry."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asr_server.backends.qwen_common import explain_load_error

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_download_hint_names_the_model_that_was_asked_for():
    error = explain_load_error("Qwen/Qwen3-ASR-0.6B", OSError("We couldn't connect to 'https://huggingface.co'"))
    assert "huggingface-cli download Qwen/Qwen3-ASR-0.6B --local-dir DIR" in str(error)
    assert "1.7B" not in str(error)


@pytest.mark.slow  # a Python that imports qwen_asr (torch, transformers): half a minute
def test_hub_retry_warnings_are_printed_once_each_in_the_server_format():
    # The real huggingface_hub retry loop, on a host that cannot resolve, with the server's logging set up as
    # `python -m asr_server` does and the backend's import of qwen_asr.
    script = textwrap.dedent("""
        from asr_server.__main__ import configure_logging
        from asr_server.backends.qwen_common import import_qwen_asr
        configure_logging("info")
        import_qwen_asr("server-cpu")
        from huggingface_hub.utils import http_backoff
        try:
            http_backoff("HEAD", "https://no-such-host.invalid/config.json", max_retries=3,
                         base_wait_time=0.01, max_wait_time=0.01)
        except Exception as error:
            print("gave up:", type(error).__name__)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env,
                            cwd=REPO_ROOT)
    assert "gave up:" in result.stdout, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    retries = [line for line in lines if "Retrying in" in line]
    failures = [line for line in lines if "thrown while requesting" in line]
    assert len(retries) == 3, result.stderr[-3000:]  # once each, not twice
    assert all(" WARNING huggingface_hub." in line for line in retries)  # in the server's log format
    assert len(failures) == 1 and "no-such-host.invalid" in failures[0]  # the cause once, not per retry
