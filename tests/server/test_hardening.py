"""Issue 18, server side: the Host/Origin rules, the hello deadline, bounded uploads, parsing and engine answers,
and the smaller defects (healthz details, the upload error's heap address, exit 134 on SIGTERM mid-decode)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from asr_server.audio_decode import AudioFileError, TooLongError, decode_upload
from asr_server.log_limit import PerSecond, ThrottledLog
from asr_server.origin import OriginPolicy
from dictation_core import protocol
from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.polling import wait_for
from dictation_devtools.reliability.hostile import _handshake, silence_flac
from dictation_devtools.servers import REPO_ROOT, free_port, running_server, wait_healthy
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend
from dictation_devtools.ws_client import recv_until, run, send_utterance

PHRASE = KnownPhrase("hello there", np.random.default_rng(3).integers(-8000, 8000, 16000).astype(np.int16))
PATH = "/v1/audio/transcriptions"


def scripted(config):
    return ScriptedBackend([PHRASE])


# -- Host and Origin (pure) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "origin", "allowed"), [
    ("127.0.0.1:8765", None, True),
    ("localhost:8765", None, True),
    ("[::1]:8765", None, True),
    ("192.168.1.7:8765", None, True),  # an IP literal: a rebinding page cannot send one
    ("rebind.example:8765", None, False),  # DNS rebinding
    ("rebind.example", None, False),
    (None, None, False),
    ("127.0.0.1:8765", "https://evil.example", False),
    ("127.0.0.1:8765", "null", False),
    ("127.0.0.1:8765", "http://127.0.0.1:8765", True),  # the server's own page
    ("localhost:8765", "http://127.0.0.1:8765", False),  # another origin, though the same machine
    ("desktop.lan:8765", None, True),  # configured
    ("127.0.0.1:8765", "https://app.example", True),  # configured
])
def test_the_origin_policy_allows_the_servers_own_names_and_origins_only(host, origin, allowed):
    policy = OriginPolicy.build("127.0.0.1", ("desktop.lan",), ("https://app.example/",))
    refusal = policy.check(host, origin)
    assert (refusal is None) is allowed, refusal
    if refusal is not None:
        assert "--allowed-hosts" in refusal.message or "--allowed-origins" in refusal.message


def test_a_wildcard_turns_either_check_off():
    policy = OriginPolicy.build("127.0.0.1", ("*",), ("*",))
    assert policy.check("anything.example", "https://evil.example") is None


# -- Host and Origin (the real server) ----------------------------------------------------------------------


def _ws_status(url: str, headers: dict[str, str]) -> int:
    async def attempt() -> int:
        try:
            async with connect(url, additional_headers=headers) as websocket:
                await websocket.send(json.dumps({"event": "hello", "protocol": 1}))
                await recv_until(websocket, "ready", 10)
                return 101
        except InvalidStatus as error:
            return error.response.status_code

    return run(attempt())


@pytest.fixture(scope="module")
def server():
    with running_server(backend_factory=scripted, allowed_origins=("https://app.example",),
                        hello_timeout_seconds=1.0, max_sessions=2) as running:
        yield running


def test_websocket_from_a_foreign_page_or_a_rebinding_host_is_refused_with_403(server):
    assert _ws_status(server.url, {"Origin": "https://evil.example"}) == 403
    assert _ws_status(server.url, {"Origin": "https://app.example"}) == 101
    assert _ws_status(server.url, {}) == 101  # programs send no Origin
    sock, head = _handshake(server.port, host="rebind.example")
    sock.close()
    assert head.startswith("HTTP/1.1 403"), head
    assert _ws_status(server.url, {"Host": "127.0.0.1"}) == 400, "two Host headers (the client adds its own)"


def test_healthz_and_uploads_refuse_a_rebinding_host(server):
    base = f"http://127.0.0.1:{server.port}"
    assert httpx.get(f"{base}/healthz", headers={"Host": "rebind.example"}).status_code == 403
    response = httpx.post(base + PATH, files={"file": ("a.flac", silence_flac(2))}, headers={"Host": "rebind.example"})
    assert response.status_code == 403 and "--allowed-hosts" in response.json()["error"]["message"]


def test_a_cross_site_form_post_is_refused_and_cors_is_only_for_allowed_origins(server):
    base = f"http://127.0.0.1:{server.port}"
    evil = httpx.post(base + PATH, files={"file": ("a.flac", silence_flac(2))},
                      headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    preflight = httpx.options(base + PATH, headers={"Origin": "https://evil.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403
    allowed = httpx.options(base + PATH, headers={"Origin": "https://app.example",
                                                  "Access-Control-Request-Method": "POST"})
    assert allowed.status_code == 204 and allowed.headers["access-control-allow-origin"] == "https://app.example"
    upload = httpx.post(base + PATH, files={"file": ("a.flac", silence_flac(2))},
                        headers={"Origin": "https://app.example"}, timeout=30)
    assert upload.status_code == 200 and upload.headers["access-control-allow-origin"] == "https://app.example"


# -- the hello deadline and the slots -----------------------------------------------------------------------


def test_sockets_that_never_say_hello_hold_no_slot_and_are_closed_with_1008(server):
    async def scenario() -> tuple[list[int | None], list[dict]]:
        idle = [await connect(server.url) for _ in range(4)]  # twice --max-sessions
        try:
            async with connect(server.url) as user:  # the user's own session still gets in
                await send_utterance(user, PHRASE.audio.astype("<i2").tobytes(), utterance_id="mine")
                messages = await recv_until(user, "final", 30, "mine")
            codes = []
            for websocket in idle:
                try:
                    await asyncio.wait_for(websocket.recv(), 15)
                except ConnectionClosed as closed:
                    codes.append(closed.rcvd.code if closed.rcvd else None)
            return codes, messages
        finally:
            for websocket in idle:
                await websocket.close()

    codes, messages = run(scenario())
    assert messages[-1]["text"] == "hello there"
    assert codes == [1008] * 4


def test_a_bad_first_message_does_not_take_a_slot_but_a_valid_one_does(server):
    async def scenario() -> list[int]:
        async with connect(server.url) as first, connect(server.url) as second:
            await first.send("{not json")
            assert (await recv_until(first, "error", 10))[-1]["code"] == "bad_message"
            await second.send(json.dumps({"event": "hello", "protocol": 1}))
            await recv_until(second, "ready", 10)
            return [server.health()[1]["sessions"]]

    assert run(scenario()) == [1]


# -- uploads ------------------------------------------------------------------------------------------------


def test_a_flac_bomb_is_refused_on_its_declared_length_before_decoding():
    bomb = silence_flac(3600)
    assert len(bomb) < 250_000
    started = time.monotonic()
    with pytest.raises(TooLongError, match="3600 s long, over the 600 s limit"):
        decode_upload(bomb, 600)
    assert time.monotonic() - started < 1.0


def test_a_flac_bomb_without_a_declared_length_is_stopped_while_decoding():
    with pytest.raises(TooLongError, match=r"over 6[0-9][0-9] s long"):
        decode_upload(silence_flac(3600, unknown_length=True), 600)


def test_streamed_resampling_equals_resampling_the_whole_file():
    import io

    import soundfile
    from scipy.signal import resample_poly

    samples = np.random.default_rng(1).standard_normal((44100 * 25, 2)).astype(np.float32) * 0.1
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 44100, format="WAV", subtype="FLOAT")
    decoded = decode_upload(buffer.getvalue(), 600)
    expected = resample_poly(samples.mean(axis=1, dtype=np.float32), 160, 441).astype(np.float32)
    assert decoded.shape == expected.shape
    assert np.max(np.abs(decoded - expected)) < 1e-6


def test_an_unreadable_upload_says_why_without_a_heap_address():
    with pytest.raises(AudioFileError) as caught:
        decode_upload(b"this is not audio", 600)
    assert "0x" not in str(caught.value) and "object at" not in str(caught.value)
    assert "send WAV, FLAC, OGG or MP3" in str(caught.value)


def test_uploads_over_the_duration_cap_get_413_and_the_server_stays_responsive():
    with running_server(backend_factory=scripted, max_upload_seconds=60) as running:
        response = httpx.post(f"http://127.0.0.1:{running.port}{PATH}",
                              files={"file": ("bomb.flac", silence_flac(3600))}, timeout=30)
        assert response.status_code == 413
        assert "--max-upload-seconds" in response.json()["error"]["message"]
        assert running.health()[0] == 200


def test_a_bare_post_line_is_closed_at_the_head_deadline_not_after_minutes():
    import socket

    with running_server(backend_factory=scripted, upload_head_timeout_seconds=1.0) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(f"POST {PATH} HTTP/1.1\r\n".encode())
        answer = sock.recv(4096)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") and waited < 15


def test_the_capacity_check_comes_before_the_body_is_read():
    import socket

    with running_server(backend_factory=scripted, max_uploads=1, max_uploads_per_ip=1) as running:
        form_head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     "Content-Length: 100000\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", running.port), timeout=30) as holder:
            holder.sendall(form_head + b"--b\r\n")  # holds the only upload slot, body unfinished
            assert wait_for(lambda: running.health()[1]["uploads"] == 1, 30), "the server took the head"
            second = httpx.post(f"http://127.0.0.1:{running.port}{PATH}", files={"file": ("a.flac", b"x" * 50)})
        assert second.status_code in (429, 503), second.text


# -- protocol parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    '{"event":"silence","ms":' + "9" * 5000 + "}",
    '{"event":"start","id":' + "1" * 5000 + "}",
    '{"event":"silence","ms":1.' + "5" * 5000 + "}",
    '{"event":"silence","ms":NaN}',
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 30 + "1" + "}" * 30,
])
def test_every_hostile_json_is_a_bad_message_on_both_sides(raw):
    with pytest.raises(protocol.ProtocolError) as server_side:
        protocol.parse_event(raw, max_context_chars=100)
    assert server_side.value.code == protocol.BAD_MESSAGE
    client_raw = raw.replace('"event"', '"type"')
    with pytest.raises(protocol.ProtocolError) as client_side:
        protocol.parse_message(client_raw)
    assert client_side.value.code == protocol.BAD_MESSAGE


def test_bad_messages_get_a_bounded_number_of_answers_and_log_lines(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="asr_server.session")
    with running_server(backend_factory=scripted) as running:
        async def scenario() -> tuple[list[dict], float]:
            async with connect(running.url) as websocket:
                for _ in range(60):
                    await websocket.send("{not json")
                started = time.monotonic()
                await send_utterance(websocket, PHRASE.audio.astype("<i2").tobytes(), utterance_id="after")
                messages = await recv_until(websocket, "final", 60, "after")
                return messages, time.monotonic() - started

        messages, seconds = run(scenario())
    errors = [m for m in messages if m["type"] == "error"]
    assert messages[-1]["text"] == "hello there", "the session goes on after the flood"
    # Ten answered in the first second; past that allowance the server reads the client no faster than it answers.
    assert 10 <= len(errors) <= 11 * (seconds + 1), (len(errors), seconds)
    lines = [r for r in caplog.records if "bad_message" in r.getMessage()]
    assert 1 <= len(lines) <= seconds + 2, len(lines)


def test_throttled_log_and_per_second_count_what_they_fold():
    import logging

    now = [0.0]
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("test.throttle")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    throttled = ThrottledLog(logger, clock=lambda: now[0])
    for _ in range(5):
        throttled.note("bad %s", "x")
    now[0] = 1.5
    throttled.note("bad %s", "y")
    assert records == ["bad x", "bad y (and 4 more like it in the last 2 s)"]
    allowance = PerSecond(3, clock=lambda: now[0])
    assert [allowance.allow() for _ in range(5)] == [True, True, True, False, False]
    now[0] = 3.0
    assert allowance.allow()


# -- engine answers -----------------------------------------------------------------------------------------


def test_a_huge_engine_answer_is_dropped_and_the_server_stays_responsive(tiny_checkpoint):
    huge = "language English<asr_text>" + "".join(f"w{i} " for i in range(150_000))  # ~1 MB, no repeats
    with FakeEngine(tiny_checkpoint, answer=lambda call: huge) as engine, \
            running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as running:
        async def scenario() -> tuple[list[dict], float]:
            async with connect(running.url) as websocket:
                started = time.monotonic()
                await send_utterance(websocket, PHRASE.audio.astype("<i2").tobytes(), utterance_id="u")
                messages = await recv_until(websocket, "error", 30, "u")
                return messages, time.monotonic() - started

        messages, seconds = run(scenario())
    assert messages[-1]["code"] == "engine" and "bytes" in messages[-1]["message"]
    assert seconds < 5


def test_a_hung_engine_is_reported_before_the_clients_10_s_final_timeout(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint, decode_seconds=lambda call: 60.0) as engine, \
            running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url,
                           engine_timeout_seconds=3.0) as running:
        async def scenario() -> tuple[list[dict], float]:
            async with connect(running.url) as websocket:
                await send_utterance(websocket, PHRASE.audio.astype("<i2").tobytes(), utterance_id="u")
                started = time.monotonic()
                messages = await recv_until(websocket, "error", 30, "u")
                return messages, time.monotonic() - started

        messages, seconds = run(scenario())
    assert messages[-1]["code"] == "engine" and "--engine-timeout-seconds" in messages[-1]["message"]
    assert seconds < 10


def test_healthz_shows_the_engine_url_and_last_error_only_with_the_token(tiny_checkpoint):
    with FakeEngine(tiny_checkpoint) as engine, \
            running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, token="tok") as running:
        base = f"http://127.0.0.1:{running.port}/healthz"
        anonymous = httpx.get(base).json()
        authorized = httpx.get(base, headers={"Authorization": "Bearer tok"}).json()
    assert "url" not in anonymous["engine"] and "last_error" not in anonymous["engine"]
    assert engine.url not in json.dumps(anonymous)
    assert authorized["engine"]["url"].startswith("http://127.0.0.1")


# -- shutdown -----------------------------------------------------------------------------------------------

_BUSY_SERVER = """
import sys, threading, torch
from asr_server.__main__ import main
from dictation_devtools.stand_in_backends import ScriptedBackend

class Busy(ScriptedBackend):
    def generate(self, items):
        print("DECODING", flush=True)
        a = torch.randn(800, 800)
        while True:
            a = torch.tanh(a @ a)

sys.exit(main(["--model", "stand-in/model", "--port", sys.argv[1]], lambda config: Busy([])))
"""


@pytest.mark.slow  # starts a server process
def test_sigterm_during_a_decode_exits_cleanly_not_with_134(tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", _BUSY_SERVER, str(port)], cwd=REPO_ROOT, stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            wait_healthy(port, 60, process)

            async def start_a_decode() -> None:
                async with connect(f"ws://127.0.0.1:{port}") as websocket:
                    await send_utterance(websocket, PHRASE.audio.astype("<i2").tobytes())
                    deadline = time.monotonic() + 30
                    while "DECODING" not in log.read_text() and time.monotonic() < deadline:
                        await asyncio.sleep(0.1)
                    process.send_signal(signal.SIGTERM)
                    await asyncio.sleep(0)

            run(start_a_decode())
            code = process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
    text = log.read_text()
    assert "DECODING" in text
    assert code == 0, text[-2000:]
    assert "terminate called" not in text
