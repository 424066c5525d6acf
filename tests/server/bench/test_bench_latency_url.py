"""bench_latency.py --url: the real client pipeline measured against a server that is already running (here a
stand-in asr_server process that answers with placeholder words after a modelled decode cost)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dictation_devtools.servers import free_port, start_server_process, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = "scripts/bench_latency.py"


def _bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_bench_latency_url_measures_a_running_server(tmp_path: Path) -> None:
    port = free_port()
    server = start_server_process(["dictation_devtools.stand_in_server", "--cost-scale", "1", "--",
                                   "--port", str(port)], log_path=tmp_path / "server.log")
    try:
        wait_healthy(port, timeout=120, process=server)
        url = f"ws://127.0.0.1:{port}"
        out = _bench("--url", url, "--quick", "--utterances", "3")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"server at {url}" in out.stdout
    assert "3/3 utterances measured, finals ok" in out.stdout
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["server"] == "url" and figures["url"] == url
    (run,) = figures["runs"]
    assert run["measured"] == 3 and run["finals_ok"] is True
    assert run["texts_match"] is False, "the stand-in's placeholder words are not the phrases spoken"
    # The whole wait is there: at least the configured min silence, and the server's share is not zero.
    assert run["ms"]["total"]["p50"] >= 400
    assert run["ms"]["uplink"]["p50"] > 0
    assert run["ms"]["decode"]["max"] == 0, "a running server's decode is not visible from the client"


def test_bench_latency_url_that_nobody_answers_says_how_to_fix() -> None:
    out = _bench("--url", f"ws://127.0.0.1:{free_port()}", "--quick", timeout=120)
    assert out.returncode == 2
    assert "cannot reach the server at ws://127.0.0.1:" in out.stderr
    assert "start it (scripts/start_server.sh)" in out.stderr


def test_bench_latency_url_must_be_a_websocket_address() -> None:
    out = _bench("--url", "127.0.0.1:8765", "--quick", timeout=120)
    assert out.returncode == 2
    assert "e.g. ws://127.0.0.1:8765" in out.stderr
