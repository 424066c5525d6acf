"""Quick soak in CI: 16 users dictating in real time; every final, no error, nothing left behind."""

from __future__ import annotations

import asyncio

import pytest

from dictation_devtools.fuzz.soak import soak
from dictation_devtools.servers import free_port, start_server_process, wait_healthy

pytestmark = pytest.mark.slow  # a server process and 16 users in real time


def test_sixteen_real_time_sessions_leave_nothing_behind(tmp_path):
    port = free_port()
    server = start_server_process(["dictation_devtools.stand_in_server", "--cost-scale", "0.5", "--",
                                   "--port", str(port), "--max-sessions", "16"], log_path=tmp_path / "server.log")
    try:
        wait_healthy(port, 60, server)
        result = asyncio.run(soak(f"ws://127.0.0.1:{port}", port, server.pid, sessions=16, seconds=25,
                                  utterance_seconds=4.0, gap=0.5))
    finally:
        server.terminate()
        server.wait(10)
    log = (tmp_path / "server.log").read_text()
    assert result.errors == []
    assert result.finals == result.utterances >= 16 * 3
    before, after = result.idle_health_before, result.idle_health_after
    assert after["sessions"] == 0
    assert after["asyncio_tasks"] == before["asyncio_tasks"], (before, after)
    assert after["threads"] == before["threads"], (before, after)
    assert "Traceback" not in log and " ERROR " not in log
    assert result.rss_growth() < 0.10, result.rss_mb
