"""Journey (issue 18): a user runs the server on their PC; a web page they visit tries to use it and to hold it.

The user starts the server as they do (its own process, its real `main`); while they dictate, a page's script
opens WebSockets from its origin, rebinds its name to 127.0.0.1, posts a decompression bomb and leaves sockets
open without a hello. What the user sees: every one of their finals, each within a second, and a server that
refused the page each time.
"""

from __future__ import annotations

import pytest

from dictation_devtools.reliability.hostile import (
    abuse_server,
    cross_site_upload,
    dns_rebinding,
    flac_bomb,
    foreign_origin_websocket,
    idle_sockets,
    run_attack,
)

pytestmark = [pytest.mark.journey, pytest.mark.slow]


def test_a_hostile_web_page_cannot_use_or_block_the_users_server(tmp_path):
    page = {"its own origin": foreign_origin_websocket, "DNS rebinding": dns_rebinding,
            "a cross-site form post": cross_site_upload, "a decompression bomb": flac_bomb,
            "sockets that never say hello": idle_sockets}
    with abuse_server(tmp_path) as server:
        for what, attack in page.items():
            report = run_attack(server, what, attack)
            assert report.problem is None, report.describe()
            assert report.latencies and not report.victim_failures, report.describe()
            assert report.worst_latency < 1.0, report.describe()
        log = server.log_text()
    assert "Traceback" not in log
    assert "refused a request" in log and "DNS rebinding" in log  # the server says why, in its log
