"""SIGTERM stops the server promptly, even with a client that never answers the close handshake."""

from __future__ import annotations

import socket
import time

import pytest

from dictation_devtools.servers import free_port, start_server_process, wait_healthy


@pytest.mark.slow  # starts a server process
def test_sigterm_with_a_silent_client_connected_exits_within_seconds(tmp_path):
    port = free_port()
    server = start_server_process(["dictation_devtools.stand_in_server", "--", "--port", str(port)],
                                  log_path=tmp_path / "server.log")
    try:
        wait_healthy(port, 60, server)
        # A raw WebSocket handshake, then silence: this client never answers the server's close frame.
        silent = socket.create_connection(("127.0.0.1", port))
        silent.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert b"101" in silent.recv(1024).split(b"\r\n")[0]
        started = time.monotonic()
        server.terminate()
        code = server.wait(20)
        took = time.monotonic() - started
    finally:
        if server.poll() is None:
            server.kill()
    assert code == 0 and took < 6, took
    assert "shutting down: closing 1 connection" in (tmp_path / "server.log").read_text()
