"""Server scaling: many concurrent sessions streaming real-time audio into the real asr_server, three policies.

The GPU is modelled (costs from the H200 measurements in BENCHMARKS.md), everything else is real and in its own
process: sessions, streaming, scheduling, websockets, HTTP. Policies, side by side in one run:

- engine (the default): asr_server --backend vllm talking HTTP to the modelled continuous-batching engine behind
  vLLM's API (dictation_devtools/modelled_engine.py: a token per running request per iteration, prefill of the
  newly admitted, priority admission, abort on disconnect), 1 s chunks, a 20 s window;
- batched: the offline scheduler as it was (one batched generate per step for every session's ready chunk,
  finals first, partial batches <= 16), with the same GPU as one batched call (stand_in_backends.ENGINE_GPU);
- original: the original server's decoding, one call per session per chunk, serialized (--max-batch-size 1),
  2 s chunks, full re-feed of the whole utterance (no window, a partial every chunk).

Figures: partial latency (a partial covering speech up to time t arrives at t + latency; the modelled transcript
has 4 words per second, so a partial's word count says how much speech it covers), final latency (stop sent ->
final received), speech finalized per wall second, and audio fed to the decoder per second of speech. A second
table replays the streaming state machine offline for one utterance of 10-120 s to show how decoder input grows
with utterance length under each policy.

    python scripts/bench_server.py --quick        # 1, 8, 64 sessions, one 5 s utterance each; ~3 min
    python scripts/bench_server.py                # 1, 8, 32, 64, 128 sessions; much longer

A running deployment instead (asr_server in front of a real engine; nothing is started, real speech from WAVs,
stops spread or in a burst; scripts/bench_deployment.py):

    python scripts/bench_server.py --url ws://HOST:8765 --wavs DIR --sessions 1,64,256 --stops spread,burst
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

from asr_server.engine.base import StepOutput
from asr_server.streaming import StreamSettings, UtteranceStream
from dictation_devtools.servers import free_port, get_health, start_server_process, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[1]

FRAME_SAMPLES = 512  # what the tray client sends: 32 ms
BASELINE_UTTERANCES = 8
WORDS_PER_SECOND = 4.0  # ModelledBackend's default tokens_per_second

POLICIES: dict[str, list[str]] = {
    "engine": ["--chunk-seconds", "1.0", "--window-seconds", "20", "--refeed-ratio", "4"],
    "batched": ["--chunk-seconds", "1.0", "--window-seconds", "20", "--refeed-ratio", "4"],
    "original": ["--chunk-seconds", "2.0", "--window-seconds", "100000", "--refeed-ratio", "1e9",
                 "--max-batch-size", "1", "--max-utterance-seconds", "100000"],
}
ORIGINAL_STREAM = StreamSettings.from_seconds(2.0, 1e5, 2, 5, refeed_ratio=1e9)
OURS_STREAM = StreamSettings.from_seconds(1.0, 20.0, 2, 5, refeed_ratio=4.0)


@dataclass
class SessionResult:
    """What one simulated user saw."""

    partial_latencies: list[float] = field(default_factory=list)
    final_latencies: list[float] = field(default_factory=list)
    finals: int = 0
    errors: list[str] = field(default_factory=list)


async def _user(url: str, utterances: int, seconds: float, gap: float, start_delay: float,
                final_timeout: float) -> SessionResult:
    """Stream `utterances` of `seconds` of audio in real time, 32 ms frames; time every partial and final."""
    result = SessionResult()
    frame = (np.random.default_rng().integers(-2000, 2000, FRAME_SAMPLES)).astype("<i2").tobytes()
    await asyncio.sleep(start_delay)
    loop = asyncio.get_running_loop()
    async with connect(url, max_size=None, open_timeout=30) as websocket:
        for index in range(utterances):
            utterance_id = f"u{index}"
            clock = {"speech_start": 0.0, "stop_sent": 0.0}

            async def reader(uid: str = utterance_id, clock: dict[str, float] = clock) -> None:
                while True:
                    message = json.loads(await websocket.recv())
                    now = loop.time()
                    if message.get("type") == "error":
                        result.errors.append(message.get("code", "?"))
                    if message.get("id") != uid:
                        continue
                    if message["type"] == "partial":
                        covered = len(message["text"].split()) / WORDS_PER_SECOND
                        result.partial_latencies.append(now - (clock["speech_start"] + covered))
                    elif message["type"] == "final":
                        result.final_latencies.append(now - clock["stop_sent"])
                        result.finals += 1
                        return

            await websocket.send(json.dumps({"event": "start", "id": utterance_id}))
            speech_start = clock["speech_start"] = loop.time()
            listening = asyncio.create_task(reader())
            frames = round(seconds * 16000 / FRAME_SAMPLES)
            for n in range(frames):
                await websocket.send(frame)
                # Pace against the clock, not per sleep, so scheduling jitter does not stretch the audio.
                await asyncio.sleep(max(0.0, speech_start + (n + 1) * FRAME_SAMPLES / 16000 - loop.time()))
            clock["stop_sent"] = loop.time()
            await websocket.send(json.dumps({"event": "stop"}))
            try:
                await asyncio.wait_for(listening, final_timeout)
            except TimeoutError:
                result.errors.append("final timeout")
                return result
            await asyncio.sleep(gap)
    return result


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass
class RunFigures:
    """One (policy, sessions) cell of the table."""

    policy: str
    sessions: int
    partial_p50: float
    partial_p95: float
    final_p50: float
    final_p95: float
    finals: int
    expected_finals: int
    speech_per_wall_second: float
    decoder_audio_per_speech_second: float
    largest_batch: int
    errors: int
    server_cpu: float = 0.0  # CPU seconds per wall second of asr_server's process
    engine_cpu: float = 0.0  # ... and of the modelled engine's (engine policy only)

    def row(self) -> str:
        return (f"{self.policy:9s} {self.sessions:4d} {self.partial_p50:8.2f} {self.partial_p95:8.2f} "
                f"{self.final_p50:8.2f} {self.final_p95:8.2f} {self.finals:4d}/{self.expected_finals:<4d} "
                f"{self.speech_per_wall_second:8.1f} {self.decoder_audio_per_speech_second:7.1f} "
                f"{self.largest_batch:5d} {self.errors:4d} {self.server_cpu:6.2f} {self.engine_cpu:6.2f}")


def _start_servers(policy: str, sessions: int, args: argparse.Namespace, log_dir: Path) -> tuple[int, list[Any]]:
    """The processes for one cell (engine first for the engine policy); returns asr_server's port and them."""
    port = free_port()
    common = ["--port", str(port), "--max-sessions", str(max(sessions, 1)), "--log-level", "WARNING",
              *POLICIES[policy]]
    if policy != "engine":
        process = start_server_process(["dictation_devtools.stand_in_server", "--cost-scale", str(args.cost_scale),
                                        "--cost-model", "engine", "--", *common],
                                       log_path=log_dir / f"server-{policy}-{sessions}.log")
        return port, [process]
    engine_port = free_port()
    engine = start_server_process(["dictation_devtools.engine_serve", str(args.checkpoint), "--modelled",
                                   "--scheduling-policy", "priority", "--port", str(engine_port),
                                   "--cost-scale", str(args.cost_scale)],
                                  log_path=log_dir / f"engine-{sessions}.log")
    server = start_server_process(["asr_server", "--backend", "vllm", "--model", str(args.checkpoint),
                                   "--engine-url", f"http://127.0.0.1:{engine_port}/v1", *common],
                                  log_path=log_dir / f"server-{policy}-{sessions}.log")
    return port, [server, engine]


def _engine_stats(log_path: Path) -> dict[str, Any]:
    for line in reversed(log_path.read_text(errors="replace").splitlines()):
        if line.startswith('{"engine_stats"'):
            return dict(json.loads(line)["engine_stats"])
    return {}


def run_cell(policy: str, sessions: int, args: argparse.Namespace, log_dir: Path) -> RunFigures:
    """Start the processes for this policy, run the users, read the counters."""
    port, processes = _start_servers(policy, sessions, args, log_dir)
    try:
        wait_healthy(port, 90, processes[0])
        rng = random.Random(sessions)
        before = [_cpu_seconds(process) for process in processes]  # start-up (imports, loading) left out
        started = time.monotonic()

        utterances = _utterances(sessions, args)

        async def everyone() -> list[SessionResult]:
            return await asyncio.gather(*(
                _user(f"ws://127.0.0.1:{port}", utterances, args.seconds, args.gap, rng.uniform(0, 1.0),
                      args.final_timeout) for _ in range(sessions)))

        results = asyncio.run(everyone())
        wall = time.monotonic() - started
        _, health = get_health(port)
        cpu = [(_cpu_seconds(process) - spent) / wall for process, spent in zip(processes, before, strict=True)]
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    engine = _engine_stats(log_dir / f"engine-{sessions}.log") if policy == "engine" else {}
    partials = [x for r in results for x in r.partial_latencies]
    finals = [x for r in results for x in r.final_latencies]
    speech = sum(r.finals for r in results) * args.seconds
    fed = engine.get("prefill_audio_seconds", health.get("decoded_audio_seconds", 0.0))
    return RunFigures(
        policy=policy, sessions=sessions,
        partial_p50=_percentile(partials, 50), partial_p95=_percentile(partials, 95),
        final_p50=_percentile(finals, 50), final_p95=_percentile(finals, 95),
        finals=sum(r.finals for r in results), expected_finals=sessions * utterances,
        speech_per_wall_second=speech / wall,
        decoder_audio_per_speech_second=float(fed) / max(speech, 1e-9),
        largest_batch=int(engine.get("largest_batch", health.get("largest_batch", 0))),
        errors=sum(len(r.errors) for r in results),
        server_cpu=round(cpu[0], 2), engine_cpu=round(cpu[1], 2) if len(cpu) > 1 else 0.0,
    )


def _utterances(sessions: int, args: argparse.Namespace) -> int:
    """A lone session speaks at least BASELINE_UTTERANCES times: its p95 is every target's reference."""
    return max(args.utterances, BASELINE_UTTERANCES) if sessions == 1 else args.utterances


def _cpu_seconds(process: Any) -> float:
    """User + system CPU seconds the process has used so far (psutil)."""
    import psutil

    times = psutil.Process(process.pid).cpu_times()
    return float(times.user + times.system)


def offline_feed_ratio(seconds: int, settings: StreamSettings) -> float:
    """Audio given to the decoder per second of speech for one utterance, decoding every step that is ready."""
    stream = UtteranceStream("u", settings)
    fed = 0
    words = 0
    for _ in range(round(seconds * 1000 / 32)):
        stream.feed(b"\x00\x00" * FRAME_SAMPLES)
        if (step := stream.next_step()) is not None:
            fed += len(step.audio)
            words += 1
            stream.apply(StepOutput(raw=f"language English<asr_text>w{words}", language="English", text="w"))
    stream.stop()
    while (step := stream.next_step()) is not None:
        fed += len(step.audio)
        stream.apply(StepOutput(raw="language English<asr_text>w", language="English", text="w"))
    return fed / (seconds * 16000)


def main(argv: list[str] | None = None) -> int:
    """Run the grid, print the tables and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1, 8 and 64 sessions, one 5 s utterance each")
    parser.add_argument("--sessions", default="1,8,32,64,128")
    parser.add_argument("--policies", default="engine,batched,original")
    parser.add_argument("--utterances", type=int, default=2, help="utterances per session")
    parser.add_argument("--seconds", type=float, default=8.0, help="speech per utterance")
    parser.add_argument("--gap", type=float, default=0.5, help="silence between utterances (nothing sent)")
    parser.add_argument("--cost-scale", type=float, default=1.0, help="multiply the modelled GPU time")
    parser.add_argument("--final-timeout", type=float, default=120.0)
    parser.add_argument("--log-dir", type=Path, default=REPO_ROOT / ".bench")
    parser.add_argument("--url", help="a running asr_server (ws://host:port): measure it with real speech")
    parser.add_argument("--wavs", type=Path, help="--url: a folder of 16 kHz mono WAV clips of real speech")
    parser.add_argument("--stops", default="spread,burst", help="--url: spread and/or burst")
    parser.add_argument("--target-p95", type=float, default=0.25, help="--url: end of speech -> final, s")
    parser.add_argument("--client-like", action="store_true",
                        help="--url: end each clip as the tray client does (silence event, stop at 400 ms)")
    parser.add_argument("--engine-metrics", help="--url: vLLM's /metrics URL, for the engine's own breakdown")
    args = parser.parse_args(argv)
    if args.url:
        if args.wavs is None:
            parser.error("--url needs --wavs DIR (16 kHz mono WAV clips of real speech)")
        from bench_deployment import run_deployment

        return run_deployment(args.url, args.wavs, [int(x) for x in args.sessions.split(",")], args.utterances,
                              args.stops.split(","), args.gap, args.final_timeout, args.target_p95,
                              client_like=args.client_like, engine_metrics=args.engine_metrics)
    if args.quick:
        args.sessions, args.utterances, args.seconds, args.final_timeout = "1,8,64", 1, 5.0, 60.0
    args.log_dir.mkdir(parents=True, exist_ok=True)
    args.checkpoint = args.log_dir / "tiny-checkpoint"
    if not (args.checkpoint / "config.json").exists():  # the engine and asr_server need a tokenizer
        from dictation_devtools.tiny_checkpoint import build_checkpoint

        build_checkpoint(args.checkpoint)
    sessions = [int(x) for x in args.sessions.split(",")]
    policies = args.policies.split(",")

    print(f"modelled GPU: H200 1.7B fit x{args.cost_scale}; {args.utterances} utterance(s) of "
          f"{args.seconds:g} s per session, real time, 32 ms frames")
    print("policy    sess  part50s  part95s  fin50s   fin95s  finals     speech/s feed/s  batch errs  srvCPU engCPU")
    cells: list[RunFigures] = []
    for count in sessions:
        for policy in policies:
            cell = run_cell(policy, count, args, args.log_dir)
            cells.append(cell)
            print(cell.row(), flush=True)

    lengths = [10, 30, 60, 120]
    print("\naudio fed to the decoder per second of speech, one utterance (offline replay of the stream logic)")
    print("length s   ours  original")
    growth: dict[str, dict[str, float]] = {"ours": {}, "original": {}}  # ours: engine and batched alike
    for seconds in lengths:
        ours = offline_feed_ratio(seconds, OURS_STREAM)
        original = offline_feed_ratio(seconds, ORIGINAL_STREAM)
        growth["ours"][str(seconds)] = round(ours, 2)
        growth["original"][str(seconds)] = round(original, 2)
        print(f"{seconds:8d} {ours:6.2f} {original:9.2f}")

    by_key = {(c.policy, c.sessions): c for c in cells}
    verdicts: dict[str, Any] = {}
    if ("engine", 1) in by_key and ("engine", 64) in by_key:
        one, many = by_key[("engine", 1)], by_key[("engine", 64)]
        ratio = many.final_p95 / one.final_p95
        lost = many.expected_finals - many.finals
        verdicts["engine_final_p95_64_over_1"] = round(ratio, 2)
        print(f"\ntarget: engine p95 final latency at 64 sessions <= 1.5x single session, no final lost: "
              f"{ratio:.2f}x, {lost} lost ({'met' if ratio <= 1.5 and lost == 0 else 'NOT met'})")
    worst = max(growth["ours"].values())
    print(f"target: decoder audio per speech second <= 6x for 10-120 s: ours worst {worst:.2f}x "
          f"({'met' if worst <= 6 else 'NOT met'}); original at 120 s {growth['original']['120']:.1f}x")
    print(json.dumps({"bench": "server", "cells": [c.__dict__ for c in cells], "feed_growth": growth,
                      **verdicts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
