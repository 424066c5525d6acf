"""A real asr_server on a free loopback port, for tests and benchmarks: in-process (thread) or as a subprocess.

`running_server(checkpoint)` runs the real server with the real transformers backend on the tiny checkpoint;
pass `backend_factory=` to stand in a test backend (fake vLLM, scripted text, modelled cost) at the model boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr_server.backends import Backend
from asr_server.config import ServerConfig
from asr_server.server import AsrServer

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunningServer:
    """Handle on a server running in a background thread."""

    server: AsrServer
    loop: asyncio.AbstractEventLoop
    config: ServerConfig
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"ws://127.0.0.1:{self.server.port}"

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server.port

    def health(self) -> tuple[int, dict[str, Any]]:
        """GET /healthz: (status, JSON body)."""
        return get_health(self.port)


def get_health(port: int) -> tuple[int, dict[str, Any]]:
    """GET /healthz on a local port: (status, JSON body)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@contextlib.contextmanager
def running_server(checkpoint: Path | str | None = None, *,
                   backend_factory: Callable[[ServerConfig], Backend] | None = None,
                   wait_loaded: bool = True, **overrides: Any) -> Iterator[RunningServer]:
    """Start AsrServer on 127.0.0.1 and a free port in its own thread and loop; stop it on exit."""
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "backend": "transformers", "device": "cpu",
                                "model": str(checkpoint) if checkpoint else "test-model"}
    settings.update(overrides)
    config = ServerConfig(**settings)
    loop = asyncio.new_event_loop()
    server = AsrServer(config, backend_factory) if backend_factory else AsrServer(config)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as error:
            failure.append(error)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        # As asyncio.run does: a connection still in its handshake (a test's half-open socket) is cancelled and
        # finished here, not destroyed with the loop (that printed "coroutine ignored GeneratorExit" later).
        leftover = asyncio.all_tasks(loop)
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, name="test-asr-server", daemon=True)
    thread.start()
    started.wait(30)
    if failure:
        raise failure[0]
    if wait_loaded:
        asyncio.run_coroutine_threadsafe(server.wait_loaded(), loop).result(60)
    try:
        yield RunningServer(server, loop, config)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)


def free_port() -> int:
    """A TCP port that was free a moment ago (for subprocess servers that must keep the same port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server_process(args: list[str], *, log_path: Path, env: dict[str, str] | None = None,
                         python: str = sys.executable) -> subprocess.Popen[bytes]:
    """`python -m <args>` in the repo root with output to `log_path` (for kill/restart tests)."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    log_file = log_path.open("ab")
    return subprocess.Popen([python, "-m", *args], cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                            env=full_env)


def wait_healthy(port: int, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll /healthz until 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited with {process.returncode}")
        with contextlib.suppress(OSError, ValueError):
            status, _ = get_health(port)
            if status == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"server on port {port} not healthy after {timeout} s")
