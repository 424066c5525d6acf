"""Hostile clients against a real asr_server process on loopback, with a victim session timing its finals.

Each attack is a function `attack(server, scale) -> str | None` (None: the server held; a string: what went
wrong) that is bounded in count and time; `scale` multiplies its counts (1 in the test suite, larger in
scripts/soak_abuse.py). `run_attack` runs one while a victim session dictates on its own connection, and reports
the server's memory (RSS of its process) before, at peak and after, and the victim's stop-to-final latencies.
The server is the stand-in server (dictation_devtools/stand_in_server.py) with the scripted backend: decoding is
instant, so every millisecond of the victim's latency is the server's own.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import multiprocessing
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from websockets.asyncio.client import connect

from dictation_core.protocol import SAMPLE_RATE
from dictation_devtools.servers import free_port, start_server_process, wait_healthy
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend

RATE = SAMPLE_RATE
PATH = "/v1/audio/transcriptions"
# The settings every attack runs against: the defaults, except deadlines short enough for a test to wait out.
SERVER_FLAGS = ["--hello-timeout-seconds", "2", "--upload-head-timeout-seconds", "2",
                "--upload-body-timeout-seconds", "3", "--max-upload-seconds", "600", "--max-sessions", "8",
                "--log-level", "INFO"]


def _phrase(text: str, seconds: float, seed: int) -> KnownPhrase:
    noise = np.random.default_rng(seed).integers(-8000, 8000, int(seconds * RATE))
    return KnownPhrase(text, noise.astype(np.int16))


VICTIM_PHRASE = _phrase("the victim is still heard", 1.0, 7)


@dataclass
class AbuseServer:
    """The stand-in server in its own process (so its memory is its own)."""

    port: int
    process: psutil.Popen | object
    pid: int
    log_path: Path

    def rss_mb(self) -> float:
        """Resident memory of the server process, MB."""
        return psutil.Process(self.pid).memory_info().rss / 2**20

    def fds(self) -> int:
        """Open file descriptors of the server process."""
        return psutil.Process(self.pid).num_fds()

    def log_text(self) -> str:
        """Everything the server logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def abuse_server(workdir: Path, extra_flags: list[str] | None = None) -> Iterator[AbuseServer]:
    """Start the stand-in server on a free loopback port; stop it (SIGTERM, then kill) on exit."""
    phrases = workdir / "phrases.npz"
    ScriptedBackend([VICTIM_PHRASE]).save(phrases)
    port = free_port()
    log_path = workdir / "server.log"
    process = start_server_process(
        ["dictation_devtools.stand_in_server", "--phrases", str(phrases), "--",
         "--port", str(port), *SERVER_FLAGS, *(extra_flags or [])], log_path=log_path)
    try:
        wait_healthy(port, 60, process)
        yield AbuseServer(port, process, process.pid, log_path)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except Exception:
            process.kill()
            process.wait(5)


# -- the victim -----------------------------------------------------------------------------------------------


class Victim:
    """A well-behaved session dictating one utterance after another, in its own process (so that an attack's
    client code, in this process, cannot slow it down through the GIL); latencies in seconds."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self.failures: list[str] = []
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._ready = context.Event()
        self._results = context.Queue()
        self._process = context.Process(target=_victim_main, args=(port, self._stop, self._ready, self._results),
                                        name="victim", daemon=True)

    def start(self) -> Victim:
        self._process.start()
        if not self._ready.wait(60):
            self.stop()
            raise RuntimeError(f"the victim session did not start: {self.failures}")
        return self

    def stop(self) -> None:
        self._stop.set()
        with suppress(Exception):
            self.latencies, self.failures = self._results.get(timeout=60)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def _victim_main(port: int, stop: object, ready: object, results: object) -> None:
    latencies: list[float] = []
    failures: list[str] = []
    try:
        asyncio.run(_dictate(port, stop, ready, latencies, failures))
    finally:
        ready.set()  # type: ignore[attr-defined]
        results.put((latencies, failures))  # type: ignore[attr-defined]


async def _dictate(port: int, stop: object, ready: object, latencies: list[float], failures: list[str]) -> None:
    pcm = VICTIM_PHRASE.audio.astype("<i2").tobytes()
    deadline = time.monotonic() + 15
    while True:  # as the tray client does: retry a refused connection, here for at most 15 s
        try:
            websocket = await connect(f"ws://127.0.0.1:{port}", max_size=None)
            break
        except Exception as error:
            if time.monotonic() > deadline:
                failures.append(f"could not connect for 15 s: {type(error).__name__}: {error}")
                return
            await asyncio.sleep(0.2)
    try:
        async with websocket:
            await websocket.send(json.dumps({"event": "hello", "protocol": 1}))
            await _until(websocket, "ready")
            ready.set()  # type: ignore[attr-defined]
            number = 0
            while number == 0 or not stop.is_set():  # type: ignore[attr-defined]  # at least one utterance
                number += 1
                await websocket.send(json.dumps({"event": "start", "id": f"v{number}"}))
                for offset in range(0, len(pcm), 32000):
                    await websocket.send(pcm[offset:offset + 32000])
                started = time.monotonic()
                await websocket.send(json.dumps({"event": "stop"}))
                final = await _until(websocket, "final", 30)
                latencies.append(time.monotonic() - started)
                if final.get("text") != VICTIM_PHRASE.text:
                    failures.append(f"wrong final {final!r}")
                await asyncio.sleep(0.05)
    except Exception as error:  # the report says it; the test fails on it
        failures.append(f"{type(error).__name__}: {error}")


async def _until(websocket: object, kind: str, timeout: float = 10.0) -> dict[str, object]:
    while True:
        message = json.loads(await asyncio.wait_for(websocket.recv(), timeout))  # type: ignore[attr-defined]
        if message.get("type") == kind:
            return message


# -- one run --------------------------------------------------------------------------------------------------


@dataclass
class AttackReport:
    """What one attack did to the server and to the victim."""

    name: str
    problem: str | None
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    latencies: list[float]
    victim_failures: list[str]

    @property
    def worst_latency(self) -> float:
        return max(self.latencies, default=float("nan"))

    def describe(self) -> str:
        return (f"{self.name}: {'held' if self.problem is None else 'FAILED: ' + self.problem}; "
                f"{self.seconds:.1f} s; RSS {self.rss_before_mb:.0f} -> peak {self.rss_peak_mb:.0f} -> "
                f"{self.rss_after_mb:.0f} MB; victim finals {len(self.latencies)}, worst "
                f"{self.worst_latency * 1000:.0f} ms; victim failures {self.victim_failures}")


Attack = Callable[[AbuseServer, int], "str | None"]


def run_attack(server: AbuseServer, name: str, attack: Attack, scale: int = 1) -> AttackReport:
    """Run `attack` while a victim dictates; sample the server's memory every 50 ms."""
    victim = Victim(server.port).start()
    before = server.rss_mb()
    peak = [before]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.05):
            with suppress(psutil.Error):
                peak[0] = max(peak[0], server.rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        problem = attack(server, scale)
    except Exception as error:
        problem = f"the attack itself failed: {type(error).__name__}: {error}"
    seconds = time.monotonic() - started
    victim.stop()
    sampling.set()
    sampler.join(5)
    return AttackReport(name, problem, seconds, before, peak[0], server.rss_mb(), victim.latencies,
                        victim.failures)


# -- raw connections ------------------------------------------------------------------------------------------


def _socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _handshake(port: int, extra: str = "", host: str = "127.0.0.1") -> tuple[socket.socket, str]:
    """A raw WebSocket handshake; the socket and the response head."""
    sock = _socket(port)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    with suppress(OSError):  # a connection the server closes at once (a cap) reads as an empty head
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return sock, head.decode("latin-1")


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def _status(head: str) -> int:
    try:
        return int(head.split(" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def _closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent until it closed, or None if it was still open after `seconds`."""
    sock.settimeout(seconds)
    data = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except TimeoutError:
        return None
    except OSError:
        return data
    return None


def _http(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, str, str]:
    """One raw HTTP exchange: status, head, body."""
    with _socket(port) as sock:
        sock.sendall(request)
        data = _closed_within(sock, timeout) or b""
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    return _status(head), head, body


def _multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    boundary = "hostileboundary"
    parts = b""
    for name, (filename, value) in fields.items():
        parts += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n").encode() + value + b"\r\n"
    return f"multipart/form-data; boundary={boundary}", parts + f"--{boundary}--\r\n".encode()


def _post(port: int, body: bytes, content_type: str, headers: str = "", host: str = "127.0.0.1",
          timeout: float = 60.0) -> tuple[int, str, str]:
    head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n").encode()
    return _http(port, head + body, timeout)


def silence_flac(seconds: int, rate: int = SAMPLE_RATE, unknown_length: bool = False) -> bytes:
    """A FLAC of digital silence: a few hundred bytes per minute that decode to `seconds` of audio."""
    import soundfile

    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", samplerate=rate, channels=1, format="FLAC", subtype="PCM_16") as sound:
        minute = np.zeros(rate * 60, np.int16)
        for _ in range(seconds // 60):
            sound.write(minute)
        sound.write(np.zeros(rate * (seconds % 60), np.int16))
    data = bytearray(buffer.getvalue())
    if unknown_length:  # STREAMINFO's total-samples field (36 bits after the rates) = 0: "not known"
        data[8 + 13] &= 0xF0
        data[8 + 14:8 + 18] = b"\0\0\0\0"
    return bytes(data)


# -- the attacks ----------------------------------------------------------------------------------------------


def foreign_origin_websocket(server: AbuseServer, scale: int) -> str | None:
    """A web page's WebSocket (Origin: https://evil.example) is refused; so is a rebinding Host."""
    for _ in range(5 * scale):
        sock, head = _handshake(server.port, "Origin: https://evil.example\r\n")
        sock.close()
        if _status(head) != 403:
            return f"a foreign Origin got {head.splitlines()[0] if head else 'nothing'}"
    return None


def dns_rebinding(server: AbuseServer, scale: int) -> str | None:
    """Host: rebind.example (a page whose name now resolves to 127.0.0.1) gets 403 everywhere."""
    for _ in range(scale):
        sock, head = _handshake(server.port, host="rebind.example")
        sock.close()
        if _status(head) != 403:
            return f"a WebSocket with a rebinding Host got {head[:40]!r}"
        status, _, body = _http(server.port, f"GET /healthz HTTP/1.1\r\nHost: rebind.example:{server.port}\r\n"
                                "\r\n".encode())
        if status != 403 or "model" in body:
            return f"/healthz with a rebinding Host got {status}"
        content_type, form = _multipart({"file": ("a.wav", b"RIFF")})
        status, _, _ = _post(server.port, form, content_type, host="rebind.example")
        if status != 403:
            return f"an upload with a rebinding Host got {status}"
    return None


def cross_site_upload(server: AbuseServer, scale: int) -> str | None:
    """A cross-site form POST (a simple request: no preflight) and a preflight from a foreign page: 403."""
    content_type, form = _multipart({"file": ("a.flac", silence_flac(5))})
    for _ in range(scale):
        status, head, _ = _post(server.port, form, content_type, "Origin: https://evil.example\r\n")
        if status != 403 or "access-control-allow-origin" in head.lower():
            return f"a cross-site upload got {status}"
        status, head, _ = _http(server.port, (f"OPTIONS {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                                              "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST"
                                              "\r\n\r\n").encode())
        if status != 403 or "access-control-allow-origin" in head.lower():
            return f"a foreign preflight got {status}"
    return None


def idle_sockets(server: AbuseServer, scale: int) -> str | None:
    """More idle WebSockets than --max-sessions, never saying hello: they hold no slot and are closed (1008)."""
    sockets = []
    refused = 0
    try:
        for _ in range(12 * scale):
            sock, head = _handshake(server.port)
            if _status(head) != 101:
                refused += 1  # past --max-pending-per-ip (32) from this address: closed at once
                sock.close()
                continue
            sockets.append(sock)
        if refused and len(sockets) < 32:
            return f"{refused} idle handshakes refused though only {len(sockets)} were open (cap 32)"
        # A new user session is served while they sit there (from this same address, once the pending ones are
        # under the cap again: at most --hello-timeout-seconds later).
        latecomer = Victim(server.port).start()
        latecomer.stop()
        if latecomer.failures or not latecomer.latencies:
            return f"a new session was refused while idle sockets were open: {latecomer.failures}"
        for sock in sockets:
            data = _closed_within(sock, 15)
            if data is None:
                return "an idle socket was still open 15 s after connecting (--hello-timeout-seconds 2)"
            if b"\x03\xf0" not in data[:8]:  # close frame, code 1008
                return f"an idle socket was closed without 1008: {data[:20]!r}"
    finally:
        for sock in sockets:
            sock.close()
    return None


def half_open_posts(server: AbuseServer, scale: int) -> str | None:
    """Many connections that send only `POST ` and wait: each is closed within the head deadline, and the
    server's descriptors stay bounded (--max-pending-per-ip)."""
    baseline = server.fds()
    sockets = []
    try:
        for _ in range(200 * scale):
            with suppress(OSError):
                sock = _socket(server.port)
                sock.sendall(f"POST {PATH} HTTP/1.1\r\n".encode())
                sockets.append(sock)
        # The ones over the cap are accepted and closed at once; give the server a moment to get through them.
        settle = time.monotonic() + 5
        while (held := server.fds() - baseline) > 32 + 8 and time.monotonic() < settle:
            time.sleep(0.1)
        if held > 32 + 8:
            return f"the server holds {held} more descriptors for {len(sockets)} half-open POSTs (cap 32 per address)"
        deadline = time.monotonic() + 20
        for sock in sockets:
            if _closed_within(sock, max(0.1, deadline - time.monotonic())) is None:
                return "a half-open POST was still open 20 s later (--upload-head-timeout-seconds 2)"
    finally:
        for sock in sockets:
            sock.close()
    return None


def trickle_body(server: AbuseServer, scale: int) -> str | None:
    """A body sent a byte at a time: answered 408 at the body deadline, not held for minutes."""
    for _ in range(scale):
        with _socket(server.port) as sock:
            content_type, form = _multipart({"file": ("a.flac", silence_flac(5))})
            sock.sendall((f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                          f"Content-Length: {len(form)}\r\n\r\n").encode())
            started = time.monotonic()
            sock.settimeout(0.2)
            data = b""
            for byte in form:
                try:
                    sock.sendall(bytes([byte]))
                    chunk = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                data += chunk
                if not chunk or b"\r\n\r\n" in data:
                    break
                if time.monotonic() - started > 20:
                    return "a trickled body was still being read after 20 s (--upload-body-timeout-seconds 3)"
            if _status(data.decode("latin-1")) != 408:
                return f"a trickled body got {data[:40]!r}"
    return None


def flac_bomb(server: AbuseServer, scale: int) -> str | None:
    """An hour of silence in ~180 kB of FLAC, its length declared and not: 413 against a 600 s cap, at once."""
    content_type, form = _multipart({"file": ("bomb.flac", silence_flac(3600))})
    hidden_type, hidden = _multipart({"file": ("bomb.flac", silence_flac(3600, unknown_length=True))})
    for _ in range(scale):
        for kind, body, ctype in (("declared", form, content_type), ("unknown length", hidden, hidden_type)):
            status, _, answer = _post(server.port, body, ctype)
            if status != 413 or "--max-upload-seconds" not in answer:
                return f"a FLAC bomb ({kind}) got {status}: {answer[:200]}"
    return None


def long_upload_within_cap(server: AbuseServer, scale: int) -> str | None:
    """Ten minutes of silence (under the cap) is decoded off the event loop and answered."""
    content_type, form = _multipart({"file": ("long.flac", silence_flac(590))})
    for _ in range(scale):
        status, _, answer = _post(server.port, form, content_type, timeout=120)
        if status != 200:
            return f"a 590 s upload got {status}: {answer[:200]}"
    return None


def upload_flood(server: AbuseServer, scale: int) -> str | None:
    """Twenty uploads at once: at most --max-uploads are read and decoded, the rest refused at the head."""
    content_type, form = _multipart({"file": ("a.flac", silence_flac(60))})
    statuses: list[int] = []

    def one() -> None:
        statuses.append(_post(server.port, form, content_type, timeout=60)[0])

    threads = [threading.Thread(target=one) for _ in range(20 * scale)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    # 0: closed at once, past --max-pending-per-ip connections that are not sessions from this address.
    if not statuses.count(200) or set(statuses) - {0, 200, 429, 503}:
        return f"statuses {sorted(statuses)}"
    return None


def leave_mid_upload(server: AbuseServer, scale: int) -> str | None:
    """Clients that leave halfway through the body: one log line each, no traceback."""
    content_type, form = _multipart({"file": ("a.flac", silence_flac(60))})
    before = server.log_text().count("Traceback")
    for _ in range(5 * scale):
        with _socket(server.port) as sock:
            sock.sendall((f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                          f"Content-Length: {len(form)}\r\n\r\n").encode() + form[: len(form) // 2])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and server.log_text().count("ended after") < 5 * scale:
        time.sleep(0.1)
    log = server.log_text()
    if log.count("Traceback") != before:
        return "a client leaving mid-upload left a traceback in the log"
    if log.count("ended after") < 5 * scale:
        return f"{log.count('ended after')} 'ended after' lines for {5 * scale} clients that left"
    return None


def ping_flood(server: AbuseServer, scale: int) -> str | None:
    """Pings as fast as possible, never reading: the server stops answering and closes at its write bound."""
    sock, head = _handshake(server.port)
    if _status(head) != 101:
        return f"handshake got {head[:40]!r}"
    before = server.rss_mb()
    ping = _frame(0x9, b"p" * 125)
    sent = 0
    sock.settimeout(0.5)
    try:
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            deadline = time.monotonic() + 10 * scale
            while time.monotonic() < deadline:
                try:
                    sock.sendall(ping * 64)
                    sent += 64
                except TimeoutError:
                    continue
                except OSError:
                    break
            else:
                return f"the server still read pings after {10 * scale} s ({sent} sent)"
    finally:
        sock.close()
    growth = server.rss_mb() - before
    if growth > 64:
        return f"server memory grew {growth:.0f} MB under {sent} pings"
    return None


def bad_message_flood(server: AbuseServer, scale: int) -> str | None:
    """Bad messages as fast as the server takes them, for 5 s: a bounded number of answers and log lines (past
    its allowance the server stops reading that client for the rest of the second), and the session stays open."""

    async def flood() -> str | None:
        lines_before = server.log_text().count("bad_message")
        errors = 0

        async def count_answers(websocket: object) -> None:
            nonlocal errors
            while True:
                message = json.loads(await websocket.recv())  # type: ignore[attr-defined]
                errors += message.get("type") == "error"

        async with connect(f"ws://127.0.0.1:{server.port}", max_size=None, ping_interval=None,
                           close_timeout=1) as websocket:
            await websocket.send(json.dumps({"event": "hello", "protocol": 1}))
            await _until(websocket, "ready")
            reader = asyncio.create_task(count_answers(websocket))
            started = time.monotonic()
            sent = 0
            with suppress(TimeoutError):
                async with asyncio.timeout(5.0 * scale):
                    while True:
                        await websocket.send("{not json")
                        sent += 1
            seconds = time.monotonic() - started
            await asyncio.sleep(1.0)  # answers still on their way
            reader.cancel()
            if websocket.close_code is not None:
                return f"the flooding session was closed ({websocket.close_code})"
            websocket.transport.abort()  # what it sent is still queued at the server: leave, do not wait on it
        seconds = time.monotonic() - started  # the log goes on while the server reads what is still queued
        if errors > 11 * (seconds + 2):
            return f"{errors} error answers to {sent} bad messages in {seconds:.1f} s (at most 10 a second)"
        lines = server.log_text().count("bad_message") - lines_before
        if lines > seconds + 3:
            return f"{lines} log lines for {sent} bad messages in {seconds:.1f} s (at most one a second)"
        return None

    return asyncio.run(flood())


def hostile_numbers_and_nesting(server: AbuseServer, scale: int) -> str | None:
    """A 5,000-digit number and deep nesting: bad_message each, and the session goes on."""

    async def probe() -> str | None:
        async with connect(f"ws://127.0.0.1:{server.port}", max_size=None) as websocket:
            for raw in ('{"event":"silence","ms":' + "9" * 5000 + "}", '{"event":"start","id":' + "1" * 5000 + "}",
                        "[" * 50_000 + "]" * 50_000, '{"a":' * 100 + "1" + "}" * 100,
                        '{"event":"silence","ms":NaN}'):
                await websocket.send(raw)
                answer = json.loads(await asyncio.wait_for(websocket.recv(), 10))
                if answer.get("code") != "bad_message":
                    return f"{raw[:30]}... got {answer}"
            await websocket.send(json.dumps({"event": "hello", "protocol": 1}))
            if (await _until(websocket, "ready"))["type"] != "ready":
                return "no ready after the bad messages"
        return None

    for _ in range(scale):
        problem = asyncio.run(probe())
        if problem:
            return problem
    return None


def invalid_utf8(server: AbuseServer, scale: int) -> str | None:
    """A text frame that is not UTF-8 closes the connection with 1007 (RFC 6455), and nothing else."""
    for _ in range(scale):
        sock, _head = _handshake(server.port)
        with sock:
            sock.sendall(_frame(0x1, b'{"event":"\xff\xfe"}'))
            data = _closed_within(sock, 10)
        if data is None or b"\x03\xef" not in data[:8]:
            return f"invalid UTF-8 got {data[:20]!r}" if data is not None else "invalid UTF-8: still open"
    return None


def tiny_frame_flood(server: AbuseServer, scale: int) -> str | None:
    """Twenty thousand 2-byte audio frames inside one utterance, then its final."""

    async def flood() -> str | None:
        async with connect(f"ws://127.0.0.1:{server.port}", max_size=None) as websocket:
            await websocket.send(json.dumps({"event": "start", "id": "tiny"}))
            for _ in range(20_000 * scale):
                await websocket.send(b"\0\0")
            await websocket.send(json.dumps({"event": "stop"}))
            final = await _until(websocket, "final", 60)
            return None if final.get("id") == "tiny" else f"final {final}"

    return asyncio.run(flood())


ATTACKS: dict[str, Attack] = {
    "foreign_origin_websocket": foreign_origin_websocket,
    "dns_rebinding": dns_rebinding,
    "cross_site_upload": cross_site_upload,
    "idle_sockets": idle_sockets,
    "half_open_posts": half_open_posts,
    "trickle_body": trickle_body,
    "flac_bomb": flac_bomb,
    "long_upload_within_cap": long_upload_within_cap,
    "upload_flood": upload_flood,
    "leave_mid_upload": leave_mid_upload,
    "ping_flood": ping_flood,
    "bad_message_flood": bad_message_flood,
    "hostile_numbers_and_nesting": hostile_numbers_and_nesting,
    "invalid_utf8": invalid_utf8,
    "tiny_frame_flood": tiny_frame_flood,
}
