"""Drive a RUNNING deployment (asr_server in front of a real engine) with real speech: `bench_server.py --url`.

Each simulated user streams WAV files (16 kHz mono int16, real speech) in real time in 32 ms frames, sends `stop`
the moment its speech ends, and times:

- end of speech -> final (the figure a dictating user feels: `stop` sent -> `final` received);
- partials: the first one after speech starts, then the gap between consecutive ones (the cadence).

Stops come `spread` (each user starts at a random moment over one utterance's length, so stops are spread in
time, as in an office) or in a `burst` (every user's speech is aligned to end at the same instant: the worst
case for finals). For each session count it prints one row; at the end, the largest count whose p95 end of
speech -> final is within --target-p95 (spread stops), the sessions-per-GPU figure.

`--client-like` ends each clip as the tray client does (tray_client/capture/segmenter.py with its defaults):
160 ms of near-silence after the speech, then `{"event": "silence"}` (the server may start the final's decode:
the speculative final), then `stop` once 400 ms of silence have passed. The latency is still `stop` -> final, the
wait the user has after the client decided the speech ended. Without it, `stop` follows the last word at once.

`--engine-metrics URL` (vLLM's /metrics) adds, under each row, where a request's time went inside the engine in
that cell: the means of vLLM's own histograms (queue, prefill, decode, end to end) over the cell's requests, so
time outside the engine (asr_server, the front end's audio decoding) shows as the difference.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

FRAME_SAMPLES = 512
# The tray client's defaults: the speculative `silence` event after 150 ms of silence (sent once the frame that
# crosses it is sent: 5 frames of 32 ms), `stop` at min_silence_ms = 400.
CLIENT_SILENCE_FRAMES = 5
CLIENT_STOP_SECONDS = 0.4
ENGINE_HISTOGRAMS = {"queue": "vllm:request_queue_time_seconds", "prefill": "vllm:request_prefill_time_seconds",
                     "decode": "vllm:request_decode_time_seconds", "e2e": "vllm:e2e_request_latency_seconds",
                     "ttft": "vllm:time_to_first_token_seconds"}


def load_wavs(folder: Path) -> list[bytes]:
    """Every *.wav in `folder` as int16 PCM bytes (16 kHz mono 16-bit required)."""
    clips = []
    for path in sorted(folder.glob("*.wav")):
        with wave.open(str(path)) as reader:
            if (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) != (16000, 1, 2):
                raise SystemExit(f"{path}: need 16 kHz mono 16-bit WAV (sox IN -r 16000 -c 1 -b 16 OUT.wav)")
            clips.append(reader.readframes(reader.getnframes()))
    if not clips:
        raise SystemExit(f"no .wav files in {folder}")
    return clips


@dataclass
class UserResult:
    """What one simulated user saw."""

    final_latencies: list[float] = field(default_factory=list)
    first_partials: list[float] = field(default_factory=list)
    partial_gaps: list[float] = field(default_factory=list)
    finals: int = 0
    errors: list[str] = field(default_factory=list)


async def speech_user(url: str, clips: list[bytes], start_delay: float, gap: float,
                      final_timeout: float, client_like: bool = False) -> UserResult:
    """Stream each clip in real time after `start_delay`, `gap` seconds apart; time partials and finals."""
    result = UserResult()
    await asyncio.sleep(start_delay)
    loop = asyncio.get_running_loop()
    async with connect(url, max_size=None, open_timeout=60) as websocket:
        for index, pcm in enumerate(clips):
            uid = f"u{index}"
            clock = {"start": 0.0, "stop": 0.0, "last_partial": 0.0}

            async def reader(uid: str = uid, clock: dict[str, float] = clock) -> None:
                while True:
                    message = json.loads(await websocket.recv())
                    now = loop.time()
                    if message.get("type") == "error":
                        result.errors.append(str(message.get("code")))
                    if message.get("id") != uid:
                        continue
                    if message["type"] == "partial":
                        if clock["last_partial"]:
                            result.partial_gaps.append(now - clock["last_partial"])
                        else:
                            result.first_partials.append(now - clock["start"])
                        clock["last_partial"] = now
                    elif message["type"] == "final":
                        result.final_latencies.append(now - clock["stop"])
                        result.finals += 1
                        return

            await websocket.send(json.dumps({"event": "start", "id": uid}))
            clock["start"] = loop.time()
            listening = asyncio.create_task(reader())
            frames = [pcm[i:i + FRAME_SAMPLES * 2] for i in range(0, len(pcm), FRAME_SAMPLES * 2)]
            sent = 0
            for frame in frames:
                await websocket.send(frame)
                sent += len(frame) // 2
                await asyncio.sleep(max(0.0, clock["start"] + sent / 16000 - loop.time()))
            if client_like:
                speech_end = loop.time()
                quiet = np.random.default_rng(index).integers(-30, 30, FRAME_SAMPLES).astype("<i2").tobytes()
                for _ in range(CLIENT_SILENCE_FRAMES):
                    await websocket.send(quiet)
                    sent += FRAME_SAMPLES
                    await asyncio.sleep(max(0.0, clock["start"] + sent / 16000 - loop.time()))
                await websocket.send(json.dumps({"event": "silence", "ms": CLIENT_SILENCE_FRAMES * 32}))
                await asyncio.sleep(max(0.0, speech_end + CLIENT_STOP_SECONDS - loop.time()))
            clock["stop"] = loop.time()
            await websocket.send(json.dumps({"event": "stop"}))
            try:
                await asyncio.wait_for(listening, final_timeout)
            except TimeoutError:
                result.errors.append("final timeout")
                return result
            if index + 1 < len(clips):
                await asyncio.sleep(gap)
    return result


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else float("nan")


def _health(url: str) -> dict[str, Any]:
    http = url.replace("ws://", "http://").replace("wss://", "https://").rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            return dict(json.loads(response.read()))
    except Exception as error:  # the figures stand without it
        return {"health_error": str(error)}


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8", "replace")


def histogram_totals(text: str) -> dict[str, tuple[float, float]]:
    """(sum, count) of each ENGINE_HISTOGRAMS family in Prometheus text, summed over label sets."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {f"{name}_sum": key for key, name in ENGINE_HISTOGRAMS.items()}
    wanted.update({f"{name}_count": key for key, name in ENGINE_HISTOGRAMS.items()})
    totals: dict[str, list[float]] = {key: [0.0, 0.0] for key in ENGINE_HISTOGRAMS}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                totals[wanted[sample.name]][0 if sample.name.endswith("_sum") else 1] += sample.value
    return {key: (value[0], value[1]) for key, value in totals.items()}


def engine_breakdown(before: dict[str, tuple[float, float]],
                     after: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Mean seconds per request of each histogram between two snapshots, and the number of requests."""
    means: dict[str, float] = {}
    for key in ENGINE_HISTOGRAMS:
        total = after[key][0] - before[key][0]
        count = after[key][1] - before[key][1]
        means[f"{key}_mean_s"] = round(total / count, 4) if count > 0 else float("nan")
    means["requests"] = after["e2e"][1] - before["e2e"][1]
    return means


def run_level(url: str, clips: list[bytes], sessions: int, utterances: int, stops: str, gap: float,
              final_timeout: float, seed: int = 0, client_like: bool = False,
              engine_metrics: str | None = None) -> dict[str, Any]:
    """`sessions` users at once; each says `utterances` clips; returns one row of figures."""
    rng = random.Random(seed + sessions)
    plans = [[clips[rng.randrange(len(clips))] for _ in range(utterances)] for _ in range(sessions)]
    longest = max(len(plan[0]) for plan in plans) / 32000
    if stops == "burst":  # every first utterance ends at the same instant
        delays = [longest - len(plan[0]) / 32000 for plan in plans]
    else:
        delays = [rng.uniform(0.0, longest + gap) for _ in plans]

    async def everyone() -> list[UserResult]:
        return await asyncio.gather(*(speech_user(url, plan, delay, gap, final_timeout, client_like)
                                      for plan, delay in zip(plans, delays, strict=True)))

    before = histogram_totals(_fetch(engine_metrics)) if engine_metrics else None
    started = time.monotonic()
    results = asyncio.run(everyone())
    wall = time.monotonic() - started
    finals = [x for r in results for x in r.final_latencies]
    firsts = [x for r in results for x in r.first_partials]
    gaps = [x for r in results for x in r.partial_gaps]
    engine = _health(url).get("engine") or {}
    return {"sessions": sessions, "stops": stops, "utterances": sessions * utterances,
            "finals": sum(r.finals for r in results), "final_p50_s": _pct(finals, 50),
            "final_p95_s": _pct(finals, 95), "final_max_s": _pct(finals, 100),
            "first_partial_p50_s": _pct(firsts, 50), "partial_gap_p50_s": _pct(gaps, 50),
            "partial_gap_p95_s": _pct(gaps, 95), "errors": sum(len(r.errors) for r in results),
            "wall_s": round(wall, 1), "held_for_finals": engine.get("held_for_finals"),
            "shed_partials": engine.get("shed_partials"), "aborted": engine.get("aborted"),
            "engine": engine_breakdown(before, histogram_totals(_fetch(engine_metrics)))
            if before is not None and engine_metrics else None}


def row(cell: dict[str, Any]) -> str:
    """One printed line of the table."""
    return (f"{cell['sessions']:5d} {cell['stops']:6s} {cell['final_p50_s']:7.3f} {cell['final_p95_s']:7.3f} "
            f"{cell['final_max_s']:7.3f} {cell['finals']:5d}/{cell['utterances']:<5d} "
            f"{cell['first_partial_p50_s']:7.3f} {cell['partial_gap_p50_s']:7.3f} {cell['partial_gap_p95_s']:7.3f} "
            f"{cell['errors']:5d} {cell['held_for_finals']!s:>6s} {cell['aborted']!s:>6s}")


HEADER = ("sess  stops  fin50s  fin95s  finmax finals       part1s  gap50s  gap95s  errs   held   abort")


def engine_row(means: dict[str, float]) -> str:
    """The line under a row: where the engine's requests spent their time (means, seconds)."""
    return ("      engine: {requests:.0f} requests, mean queue {queue_mean_s:.3f} prefill {prefill_mean_s:.3f} "
            "decode {decode_mean_s:.3f} e2e {e2e_mean_s:.3f} ttft {ttft_mean_s:.3f}".format(**means))


def run_deployment(url: str, wavs: Path, sessions: list[int], utterances: int, stops: list[str], gap: float,
                   final_timeout: float, target_p95: float, client_like: bool = False,
                   engine_metrics: str | None = None) -> int:
    """The table for every (sessions, stops), the sessions-per-GPU line, then one JSON line."""
    clips = load_wavs(wavs)
    print(f"deployment {url}: {len(clips)} clips of real speech from {wavs}, {utterances} utterance(s) a session, "
          "real time, 32 ms frames; latencies: end of speech (stop sent) -> final; "
          + ("stops as the tray client sends them (silence event at 150 ms, stop at 400 ms)" if client_like
             else "stop right after the last word"))
    print(HEADER)
    cells = []
    for count in sessions:
        for kind in stops:
            cell = run_level(url, clips, count, utterances, kind, gap, final_timeout, client_like=client_like,
                             engine_metrics=engine_metrics)
            cells.append(cell)
            print(row(cell), flush=True)
            if cell["engine"]:
                print(engine_row(cell["engine"]), flush=True)
    spread_ok = [c["sessions"] for c in cells if c["stops"] == "spread" and c["final_p95_s"] <= target_p95
                 and c["finals"] == c["utterances"]]
    best = max(spread_ok, default=0)
    print(f"sessions within p95 end of speech -> final <= {target_p95:g} s (spread stops, no final lost): {best}")
    print(json.dumps({"bench": "deployment", "url": url, "cells": cells, "sessions_within_target": best,
                      "target_p95_s": target_p95}))
    return 0
