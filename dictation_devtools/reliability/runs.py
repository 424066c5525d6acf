"""End-to-end fault runs: the real asr_server in its own process, the headless client in its own process.

Each run feeds a long dictation (dictation_devtools/reliability/dictation.py) through `python -m tray_client --no-tray`
in real time and injects faults at moments taken from the client's own log ("utterance X started" / "ended"),
so every fault lands inside an utterance whatever the machine's speed. A run returns its stdout lines (one per
final) and figures; the tests and scripts/soak_faults.py compare the lines with a clean run's, exactly.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dictation_devtools.reliability.dictation import Dictation
from dictation_devtools.reliability.proxy import FaultProxy
from dictation_devtools.servers import REPO_ROOT, free_port, start_server_process, wait_healthy

CLIENT_TIMEOUT_S = 300.0
_STARTED = re.compile(r"utterance (\S+) started")
_ENDED = re.compile(r"utterance (\S+) ended")
_CONNECTED = re.compile(r"connected to \S+; replaying (\d+) unfinished")


class ServerProcess:
    """The real asr_server with the scripted backend, in a process that can be SIGKILLed and restarted."""

    def __init__(self, dictation: Dictation, log_path: Path, *, port: int | None = None, cost_scale: float = 0.0,
                 fail_once: str | None = None, server_args: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        ours = ["--phrases", str(dictation.phrases_file), "--cost-scale", str(cost_scale)]
        if fail_once:
            ours += ["--fail-once", fail_once]
        self.args = ["dictation_devtools.stand_in_server", *ours, "--", "--port", str(self.port), *server_args]
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        """Start it (on the same port every time) and, with `wait`, return once /healthz answers 200."""
        self.process = start_server_process(self.args, log_path=self.log_path)
        self.starts += 1
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        wait_healthy(self.port, 60, self.process)

    def kill(self) -> None:
        """SIGKILL: no close frames, no cleanup, as a crash or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class ClientLine:
    """One line the client wrote, and when (seconds since the client started)."""

    at: float
    text: str


class HeadlessClient:
    """`python -m tray_client --no-tray --input-wav ... --output stdout`, its lines read as they come."""

    def __init__(self, url: str, wav: Path, workdir: Path, *, fast: bool = False,
                 extra: tuple[str, ...] = ()) -> None:
        args = [sys.executable, "-m", "tray_client", "--no-tray", "--server", url, "--input-wav", str(wav),
                "--output", "stdout", "--log-level", "INFO", *extra]
        if fast:
            args.append("--fast")
        # Config, logs and saved audio under the run's folder, never in the developer's home.
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1",
               **{name: str(workdir / name.lower()) for name in
                  ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")}}
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.stdout: list[ClientLine] = []
        self.stderr: list[ClientLine] = []
        self.events: queue.Queue[tuple[str, str, float]] = queue.Queue()  # ("started"|"ended", id, at)
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._read, args=(self.process.stdout, self.stdout), daemon=True),
                         threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True)]
        for reader in self._readers:
            reader.start()

    def now(self) -> float:
        return time.monotonic() - self.started_at

    def _read(self, stream: object, into: list[ClientLine]) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = ClientLine(self.now(), raw.decode("utf-8", "replace").rstrip("\n"))
            with self._lock:
                into.append(line)
            if into is self.stderr:
                for kind, pattern in (("started", _STARTED), ("ended", _ENDED)):
                    match = pattern.search(line.text)
                    if match:
                        self.events.put((kind, match.group(1), line.at))

    def wait(self, timeout: float = CLIENT_TIMEOUT_S) -> int:
        """Wait for the client to exit; return its exit code (it is killed past `timeout`)."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(10)
        for reader in self._readers:
            reader.join(10)
        return code

    def output_lines(self) -> list[str]:
        with self._lock:
            return [line.text for line in self.stdout]

    def outputs_before(self, at: float) -> int:
        with self._lock:
            return sum(1 for line in self.stdout if line.at <= at)

    def stderr_text(self) -> str:
        with self._lock:
            return "\n".join(line.text for line in self.stderr)

    def connections_after(self, at: float) -> list[float]:
        """When the client (re)connected after `at` (from its log)."""
        with self._lock:
            return [line.at for line in self.stderr if line.at >= at and _CONNECTED.search(line.text)]

    def next_event(self, kind: str, timeout: float, fresh_s: float = 0.5) -> tuple[str, float] | None:
        """The next "started"/"ended" log event of this kind that happened under `fresh_s` ago."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got, utterance_id, at = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if got == kind and self.now() - at <= fresh_s:
                return utterance_id, at
        return None


@dataclass
class Fault:
    """One injected fault: what, when (client seconds), whether an utterance was in flight, and recovery."""

    kind: str
    at: float
    utterance_id: str
    in_flight: bool  # an utterance had started and not been output yet
    ended_at: float  # when the fault ended (kill: the kill; stall: its release; cut: the cut)
    recovered_s: float | None = None  # from `ended_at` to the next connection, or the next output without one


@dataclass
class RunResult:
    """What one run produced and the figures the report prints."""

    name: str
    expected: list[str]
    lines: list[str]
    exit_code: int
    faults: list[Fault] = field(default_factory=list)
    seconds: float = 0.0
    client_log: str = ""
    server_log: str = ""

    @property
    def duplicates(self) -> int:
        """Output lines beyond the expected count of their text."""
        got, want = collections.Counter(self.lines), collections.Counter(self.expected)
        return sum(max(0, n - want[text]) for text, n in got.items())

    @property
    def losses(self) -> int:
        """Expected lines missing from the output."""
        got, want = collections.Counter(self.lines), collections.Counter(self.expected)
        return sum(max(0, n - got[text]) for text, n in want.items())

    @property
    def exact(self) -> bool:
        return self.lines == self.expected

    @property
    def recoveries(self) -> int:
        return sum(1 for fault in self.faults if fault.recovered_s is not None)

    @property
    def max_recovery_s(self) -> float:
        return max((f.recovered_s for f in self.faults if f.recovered_s is not None), default=0.0)

    def describe(self) -> str:
        """For assertion messages: the lines and the tail of both logs."""
        return (f"{self.name}: exit {self.exit_code}\nexpected {self.expected}\ngot      {self.lines}\n"
                f"faults {self.faults}\n--- client log (tail)\n{self.client_log[-4000:]}\n"
                f"--- server log (tail)\n{self.server_log[-3000:]}")


def _measure_recoveries(client: HeadlessClient, faults: list[Fault]) -> None:
    """Recovery: from the end of a fault to the client's next connection, or, when its connection survived, to
    its next output line."""
    for fault in faults:
        connected = client.connections_after(fault.ended_at)
        outputs = [line.at for line in client.stdout if line.at >= fault.ended_at]
        candidates = connected[:1] if fault.kind != "stall" else (connected[:1] + outputs[:1])
        if candidates:
            fault.recovered_s = round(min(candidates) - fault.ended_at, 3)


def _finish(name: str, dictation_texts: list[str], client: HeadlessClient, faults: list[Fault],
            server: ServerProcess | None, started: float) -> RunResult:
    code = client.wait()
    _measure_recoveries(client, faults)
    if server is not None:  # the client's log next to the server's, for a person reading a failure
        server.log_path.with_name(server.log_path.name.replace("-server", "-client")).write_text(
            client.stderr_text(), encoding="utf-8")
    return RunResult(name, list(dictation_texts), client.output_lines(), code, faults,
                     round(time.monotonic() - started, 1), client.stderr_text(),
                     server.log() if server is not None else "")


@contextlib.contextmanager
def _server(dictation: Dictation, workdir: Path, name: str, **options: object) -> Iterator[ServerProcess]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(dictation, workdir / f"{name}-server.log", **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def clean_run(dictation: Dictation, workdir: Path, *, fast: bool = True) -> RunResult:
    """No faults: the reference output."""
    started = time.monotonic()
    with _server(dictation, workdir, "clean") as server:
        client = HeadlessClient(server.url, dictation.path, workdir, fast=fast)
        return _finish("clean", dictation.texts, client, [], server, started)


def kill_run(dictation: Dictation, workdir: Path, kills: int, *, cost_scale: float = 1.0,
             log: Callable[[str], None] = lambda _: None) -> RunResult:
    """SIGKILL the server inside `kills` utterances and restart it at once on the same port.

    Kills alternate between mid-speech (the client is streaming the utterance's audio) and just after the
    utterance ended (its final is being decoded: `cost_scale` gives the decode its modelled GPU time)."""
    started = time.monotonic()
    faults: list[Fault] = []
    with _server(dictation, workdir, "kill", cost_scale=cost_scale) as server:
        client = HeadlessClient(server.url, dictation.path, workdir)
        for number in range(kills):
            mid_speech = number % 2 == 0
            event = client.next_event("started" if mid_speech else "ended", timeout=60)
            if event is None:
                break
            utterance_id, _ = event
            if mid_speech:
                time.sleep(0.7)  # well inside the phrase (every phrase lasts over 1.5 s)
            at = client.now()
            in_flight = client.outputs_before(at) < _utterances_started(client)
            server.kill()
            faults.append(Fault("kill", at, utterance_id, in_flight, at))
            log(f"kill {number + 1}/{kills} at {at:.2f} s in {utterance_id} "
                f"({'speech' if mid_speech else 'decoding'})")
            server.start(wait=False)
            server.wait_ready()
            # The next kill only once the client is back on the new server, so every kill drops a live session.
            _wait_reconnected(client, at)
        return _finish(f"kill x{kills}", dictation.texts, client, faults, server, started)


def _wait_reconnected(client: HeadlessClient, since: float, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.connections_after(since) or client.process.poll() is not None:
            return True
        time.sleep(0.02)
    return False


def _utterances_started(client: HeadlessClient) -> int:
    with client._lock:
        return sum(1 for line in client.stderr if _STARTED.search(line.text))


def proxy_run(dictation: Dictation, workdir: Path, stall_s: float, *, cuts: int = 1,
              log: Callable[[str], None] = lambda _: None) -> RunResult:
    """Through a TCP proxy: stall all traffic for `stall_s` inside one utterance, then cut every connection
    inside `cuts` later utterances (alternately mid-speech and while the final is decoding)."""
    started = time.monotonic()
    faults: list[Fault] = []
    with _server(dictation, workdir, "proxy", cost_scale=1.0) as server, FaultProxy(server.port) as proxy:
        client = HeadlessClient(f"ws://127.0.0.1:{proxy.port}", dictation.path, workdir)
        event = client.next_event("started", timeout=60)
        if event is not None:
            time.sleep(0.5)
            at = client.now()
            in_flight = client.outputs_before(at) < _utterances_started(client)
            log(f"stall {stall_s:g} s at {at:.2f} s in {event[0]}")
            proxy.stall(stall_s)
            faults.append(Fault("stall", at, event[0], in_flight, client.now()))
            time.sleep(1.0)  # let the stalled bytes drain before the next fault
        for number in range(cuts):
            mid_speech = number % 2 == 0
            event = client.next_event("started" if mid_speech else "ended", timeout=60)
            if event is None:
                break
            if mid_speech:
                time.sleep(0.7)
            at = client.now()
            in_flight = client.outputs_before(at) < _utterances_started(client)
            cut = proxy.cut()
            log(f"cut {cut} connection(s) at {at:.2f} s in {event[0]} ({'speech' if mid_speech else 'decoding'})")
            faults.append(Fault("cut", at, event[0], in_flight and cut > 0, at))
            _wait_reconnected(client, at)
        return _finish(f"proxy stall {stall_s:g} s + {cuts} cut(s)", dictation.texts, client, faults, server,
                       started)


def decode_error_run(dictation: Dictation, workdir: Path, phrase_index: int = 1) -> RunResult:
    """The server's first decode of one phrase raises: it answers `engine` for that utterance instead of a final.

    `--chunk-seconds 60` leaves the server no partial steps, so the failing decode is the final's (a failed
    partial is retried by the server's next step and never reaches the client). The client sends no speculative
    `silence` event for the same reason: a failed speculative final is decoded again by the server's stop."""
    started = time.monotonic()
    text = dictation.texts[phrase_index]
    with _server(dictation, workdir, "decode-error", fail_once=text,
                 server_args=("--chunk-seconds", "60", "--window-seconds", "60")) as server:
        client = HeadlessClient(server.url, dictation.path, workdir, fast=True,
                                extra=("--speculative-silence-ms", "0"))
        result = _finish("decode error", dictation.texts, client, [], server, started)
    # Recovery: from the client's "sending the utterance again" (it got the engine error) to that text's output.
    replayed = [line.at for line in client.stderr if "sending the utterance again" in line.text]
    output = [line.at for line in client.stdout if line.text == text]
    recovered = round(output[0] - replayed[0], 3) if replayed and output and output[0] >= replayed[0] else None
    result.faults.append(Fault("decode_error", replayed[0] if replayed else 0.0, text, True,
                               replayed[0] if replayed else 0.0, recovered))
    return result
