"""Hostile clients (issue 18), each bounded and on loopback, against the real server in its own process.

Every attack must be held (its own check), leave the server's memory bounded, and never delay another
session: a victim dictating on its own connection throughout gets every final within 1 s. The full-size runs
are `scripts/soak_abuse.py`; its figures are in RELIABILITY.md.
"""

from __future__ import annotations

import pytest

from dictation_devtools.reliability.hostile import ATTACKS, AbuseServer, abuse_server, run_attack

pytestmark = pytest.mark.slow

MAX_FINAL_S = 1.0
MAX_GROWTH_MB = 150.0  # the long upload holds its 590 s of decoded audio (38 MB) while it is transcribed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> AbuseServer:
    with abuse_server(tmp_path_factory.mktemp("abuse")) as running:
        yield running


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_hostile_client_is_held_and_other_sessions_do_not_notice(server: AbuseServer, name: str) -> None:
    report = run_attack(server, name, ATTACKS[name])
    assert report.problem is None, report.describe()
    assert not report.victim_failures, report.describe()
    assert report.latencies, report.describe()
    assert report.worst_latency < MAX_FINAL_S, report.describe()
    assert report.rss_peak_mb - report.rss_before_mb < MAX_GROWTH_MB, report.describe()
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
