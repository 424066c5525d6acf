"""Many well-behaved users dictating in real time for a while, against a server in its own process.

Used by the quick soak test in CI and by `scripts/soak_server.py` (64 sessions x 10 minutes). Every utterance must
get exactly one final and no error; the server's RSS, threads and asyncio tasks are sampled through psutil and
/healthz to show that nothing grows.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import numpy as np
import psutil
from websockets.asyncio.client import connect

from dictation_core.protocol import SAMPLE_RATE
from dictation_devtools.servers import get_health

FRAME_SAMPLES = 512


@dataclass
class SoakResult:
    """Totals over all users, and the server samples taken every few seconds."""

    utterances: int = 0
    finals: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    idle_health_before: dict[str, object] = field(default_factory=dict)
    idle_health_after: dict[str, object] = field(default_factory=dict)

    def rss_growth(self, warmup_fraction: float = 0.3) -> float:
        """Growth of RSS from the end of warm-up to the largest sample after it (0.05 = 5%)."""
        if len(self.rss_mb) < 3:
            return 0.0
        end = self.rss_mb[-1][0]
        after = [mb for t, mb in self.rss_mb if t >= end * warmup_fraction]
        return max(after) / after[0] - 1


async def _user(url: str, until: float, utterance_seconds: float, gap: float, index: int,
                result: SoakResult) -> None:
    # A handful of pre-made frames: generating noise per frame would make the load generator the bottleneck.
    rng = np.random.default_rng(index)
    frames_pool = [rng.integers(-3000, 3000, FRAME_SAMPLES).astype("<i2").tobytes() for _ in range(16)]
    loop = asyncio.get_running_loop()
    async with connect(url, open_timeout=30) as websocket:
        number = 0
        while loop.time() < until:
            utterance_id = f"user{index}-{number}"
            number += 1
            result.utterances += 1
            await websocket.send(json.dumps({"event": "start", "id": utterance_id}))
            started = loop.time()
            frames = round(utterance_seconds * SAMPLE_RATE / FRAME_SAMPLES)
            for n in range(frames):
                await websocket.send(frames_pool[n % len(frames_pool)])
                await asyncio.sleep(max(0.0, started + (n + 1) * FRAME_SAMPLES / SAMPLE_RATE - loop.time()))
            await websocket.send(json.dumps({"event": "stop"}))
            finals = 0
            while True:
                message = json.loads(await asyncio.wait_for(websocket.recv(), 60))
                if message.get("type") == "error":
                    result.errors.append(f"{utterance_id}: {message.get('code')}: {message.get('message')}")
                elif message.get("type") == "final" and message.get("id") == utterance_id:
                    finals += 1
                    break
            result.finals += finals
            await asyncio.sleep(gap)


async def _sampler(port: int, pid: int, until: float, every: float, result: SoakResult) -> None:
    process = psutil.Process(pid)
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        result.rss_mb.append((time.monotonic() - started, process.memory_info().rss / 2**20))
        await asyncio.sleep(every)


async def soak(url: str, port: int, pid: int, sessions: int, seconds: float, utterance_seconds: float = 6.0,
               gap: float = 1.0, sample_every: float = 2.0) -> SoakResult:
    """Run `sessions` users for `seconds`, sampling the server; return what happened."""
    result = SoakResult()
    _, result.idle_health_before = get_health(port)
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    sampler = asyncio.create_task(_sampler(port, pid, until, sample_every, result))
    outcomes = await asyncio.gather(*(_user(url, until, utterance_seconds, gap, n, result)
                                      for n in range(sessions)), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.errors.append(f"user failed: {type(outcome).__name__}: {outcome}")
    await sampler
    await asyncio.sleep(0.5)  # let the server finish closing connections
    _, result.idle_health_after = get_health(port)
    return result
