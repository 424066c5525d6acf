"""What a client (or a stranger) can make the server hold, and what the server says about its engine.

Abuse tests: plain HTTP GETs and port scans hold no session slot, a client that never reads is closed at the
outbox bound with a reason, the engine's queue sheds partials (never finals), and /healthz and /metrics report
the engine. The engine is the fake one at its HTTP API.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest
from websockets.asyncio.client import connect

from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.polling import wait_for
from dictation_devtools.servers import running_server
from dictation_devtools.ws_client import dictate, recv_until, run, send_utterance


def pcm(amplitude: int, seconds: float) -> bytes:
    return np.full(round(seconds * 16000), amplitude, dtype="<i2").tobytes()


@pytest.fixture
def engine(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint) as fake:
        yield fake


def test_plain_gets_failed_upgrades_and_scans_hold_no_session_slot(tiny_checkpoint, engine):
    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, max_sessions=2) as server:
        held = []
        for _ in range(3):  # a browser or curl: a GET without the upgrade headers
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 426"), "websockets answers 426 Upgrade Required"
            held.append(sock)
        for _ in range(3):  # a port scan: connect, send nothing, stay
            held.append(socket.create_connection(("127.0.0.1", server.port)))
        for _ in range(3):  # and connect-then-close
            socket.create_connection(("127.0.0.1", server.port)).close()
        assert server.health()[1]["sessions"] == 0

        async def two_users(url: str) -> list[list[dict]]:
            return await asyncio.gather(*(dictate(url, [pcm(200 + n, 1.0)], ids=[f"u{n}"]) for n in range(2)))

        results = run(two_users(server.url))
        for sock in held:
            sock.close()
    assert [r[-1]["text"] for r in results] == ["amp200 n16000", "amp201 n16000"]


def test_a_client_that_never_reads_is_closed_with_a_reason_at_the_outbox_bound(tiny_checkpoint, engine):
    # A raw socket that completes the handshake, floods bad messages (each answered with an error) and never
    # reads: only the kernel buffers and the outbox can hold the answers.
    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, max_outbox_messages=8) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        sock.settimeout(0.5)
        # Each answer quotes 80 characters of the bad message: ~260 bytes back for 86 sent, so a few MB of
        # answers (what loopback TCP buffers hold at most) come quickly.
        flood = _masked_text_frame(b"{" + b"x" * 79) * 2000
        closed = False
        for _ in range(100):
            with contextlib.suppress(TimeoutError):
                sock.sendall(flood)
            closed = b"asr_slow_clients_closed_total 1.0" in _get(server.port, "/metrics")
            if closed:
                break
        assert closed, "the server never closed the connection that does not read"
        code, reason = _read_close_frame(sock)
        sock.close()
        assert wait_for(lambda: server.health()[1]["sessions"] == 0, 60)
    assert code == 1008 and "did not read" in reason


def _masked_text_frame(payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read_close_frame(sock: socket.socket) -> tuple[int, str]:
    """Read (and skip) everything the server sent until its close frame; its code and reason."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    data = data.split(b"\r\n\r\n", 1)[1]
    while True:
        while len(data) < 4 or len(data) < _frame_end(data):
            chunk = sock.recv(65536)
            assert chunk, "the connection ended without a close frame"
            data += chunk
        end, opcode, start = _frame_end(data), data[0] & 0x0F, _frame_start(data)
        if opcode == 0x8:
            payload = data[start:end]
            return int.from_bytes(payload[:2], "big"), payload[2:].decode()
        data = data[end:]


def _frame_start(data: bytes) -> int:
    size = data[1] & 0x7F
    return 2 if size < 126 else 4 if size == 126 else 10


def _frame_end(data: bytes) -> int:
    size = data[1] & 0x7F
    if size == 126:
        size = int.from_bytes(data[2:4], "big")
    elif size == 127:
        size = int.from_bytes(data[2:10], "big")
    return _frame_start(data) + size


def test_partials_are_shed_while_the_engine_queue_is_deep_and_finals_never(tiny_checkpoint, engine):
    # Two long finals occupy the engine (one running, one waiting): its queue is at the shed depth.
    engine.max_running = 1
    engine.decode_seconds = lambda call: 2.0 if call.audio.size == 8000 else 0.0

    async def scenario(url: str, server) -> tuple[list[dict], list[list[dict]]]:
        blockers = [asyncio.create_task(dictate(url, [pcm(50 + n, 0.5)], ids=[f"b{n}"])) for n in range(2)]
        await asyncio.to_thread(wait_for, lambda: server.health()[1]["engine"]["queue_waiting"] >= 1, 10)
        async with connect(url) as websocket:
            await send_utterance(websocket, pcm(3000, 3.0), utterance_id="s", realtime=6.0)
            messages = await recv_until(websocket, "final", timeout=30)
        return messages, await asyncio.gather(*blockers)

    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, shed_queue_depth=1) as server:
        messages, blocked = run(scenario(server.url, server))
        _, health = server.health()
    assert messages[-1] == {"type": "final", "id": "s", "text": "amp3000 n48000", "language": "English"}
    assert [b[-1]["type"] for b in blocked] == ["final", "final"]
    mine = [call for call in engine.calls if call.audio.size and round(float(call.audio[0]) * 32768) == 3000]
    assert [call.priority for call in mine] == [0], "no partial of it reached the engine, its final did"
    assert health["engine"]["shed_partials"] >= 1


def test_healthz_reports_the_engine_and_is_503_while_it_is_down(tiny_checkpoint, engine):
    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        run(dictate(server.url, [pcm(10, 1.0)]))
        status, health = server.health()
        assert status == 200 and health["status"] == "ok"
        assert health["engine"]["reachable"] is True and health["engine"]["last_decode_ok"] is True
        assert health["engine"]["queue_waiting"] == 0
        engine.kill()
        assert wait_for(lambda: server.health()[0] == 503, 60)
        _, down = server.health()
        assert down["status"] == "engine_down" and down["engine"]["reachable"] is False
        engine.start()
        assert wait_for(lambda: server.health()[0] == 200, 60)


def test_metrics_count_sessions_steps_finals_errors_and_latency(tiny_checkpoint, engine):
    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        async def scenario(url: str) -> None:
            async with connect(url) as websocket:
                await websocket.send("{}")  # a bad message: one error
                await recv_until(websocket, "error")
                await send_utterance(websocket, pcm(5, 1.5), utterance_id="m")
                await recv_until(websocket, "final")
                assert b"asr_sessions 1.0" in _get(server.port, "/metrics")

        run(scenario(server.url))
        text = _get(server.port, "/metrics").decode()
    assert "asr_finals_total 1.0" in text
    assert 'asr_errors_total{code="bad_message"} 1.0' in text
    assert "asr_decode_steps_total{kind=" in text
    assert "asr_final_latency_seconds_count 1.0" in text
    assert 'asr_decode_seconds_count{kind="final",outcome="ok"} 1.0' in text
    assert "asr_engine_up 1.0" in text


def test_metrics_need_the_token_when_one_is_set(tiny_checkpoint, engine):
    with running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, token="s3cret") as server:
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(server.port, "/metrics")
        assert refused.value.code == 401
        request = urllib.request.Request(f"http://127.0.0.1:{server.port}/metrics",
                                         headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert b"asr_sessions" in response.read()


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read()
