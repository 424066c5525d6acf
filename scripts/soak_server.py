"""Reliability runs against the real server in its own process (modelled decoder): fuzzing and a long soak.

    python scripts/soak_server.py --quick     # fuzz 2,000 messages; soak 16 sessions x 60 s
    python scripts/soak_server.py             # fuzz 20,000 messages; soak 64 sessions x 10 minutes

Fuzz: random JSON of every shape, wrong types, random bytes, odd and oversized frames, every order of
start/stop/cancel/hello/audio, over many concurrent connections, while one well-behaved user keeps dictating.
Each connection's answers are checked against the protocol oracle (dictation_devtools/fuzz/messages.py).
Soak: users stream real-time audio and must get every final with zero errors; server RSS after warm-up must grow
under 10%, and its threads and asyncio tasks must return to their idle counts.
Prints a table and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from pathlib import Path

from dictation_devtools.fuzz.messages import MAX_CONTEXT, MAX_FRAME, random_message
from dictation_devtools.fuzz.session import fuzz_connection, steady_dictation
from dictation_devtools.fuzz.soak import soak
from dictation_devtools.servers import free_port, get_health, start_server_process, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[1]


def _stop(process: object) -> None:
    """SIGTERM, and the time a clean shutdown may take; report rather than hang if it does not end."""
    process.terminate()
    try:
        process.wait(15)
    except Exception:
        print("warning: the server did not stop within 15 s of SIGTERM; killed", file=sys.stderr)
        process.kill()
        process.wait(5)


def _start(args: argparse.Namespace, sessions: int, name: str) -> tuple[int, object]:
    port = free_port()
    (args.log_dir / f"{name}.log").unlink(missing_ok=True)  # the figures count tracebacks in this run only
    process = start_server_process(
        ["dictation_devtools.stand_in_server", "--cost-scale", str(args.cost_scale), "--", "--port", str(port),
         "--max-sessions", str(sessions), "--max-frame-bytes", str(MAX_FRAME), "--max-context-chars",
         str(MAX_CONTEXT), "--max-utterance-seconds", "600"],
        log_path=args.log_dir / f"{name}.log")
    wait_healthy(port, 60, process)
    return port, process


async def _fuzz(url: str, total: int, concurrency: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    user = asyncio.create_task(steady_dictation(url, utterances=10_000, seconds=1.5))
    sent = connections = mismatches = closed = 0
    while sent < total:
        batch = [[random_message(rng) for _ in range(rng.randrange(1, 40))] for _ in range(concurrency)]
        results = await asyncio.gather(*(fuzz_connection(url, messages) for messages in batch))
        for got, owed in results:
            connections += 1
            closed += got.closed
            if (got.errors, got.finals, got.readies) != (owed.errors, owed.finals, owed.readies):
                mismatches += 1
        sent += sum(len(messages) for messages in batch)
        if user.done():
            break
    user_failed = user.done() and user.exception() is not None
    user.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await user  # its connection closes cleanly before the server is stopped
    return {"messages": sent, "connections": connections, "oracle_mismatches": mismatches,
            "closed_connections": closed, "user_failed": int(user_failed)}


def main(argv: list[str] | None = None) -> int:
    """Fuzz, then soak; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--fuzz-messages", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--cost-scale", type=float, default=0.5,
                        help="modelled GPU time factor (0.5: 64 sessions keep up on the 1.7B H100 fit)")
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--skip-soak", action="store_true")
    parser.add_argument("--log-dir", type=Path, default=REPO_ROOT / ".bench")
    args = parser.parse_args(argv)
    if args.quick:
        args.fuzz_messages, args.sessions, args.seconds = 2_000, 16, 60.0
    args.log_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {"bench": "soak_server"}

    if not args.skip_fuzz:
        port, process = _start(args, 64, "fuzz-server")
        started = time.monotonic()
        try:
            fuzz = asyncio.run(_fuzz(f"ws://127.0.0.1:{port}", args.fuzz_messages, 16, seed=2026))
            status, _ = get_health(port)
        finally:
            _stop(process)
        log = (args.log_dir / "fuzz-server.log").read_text(errors="replace")
        fuzz.update(seconds=round(time.monotonic() - started, 1), server_alive=int(status == 200),
                    tracebacks=log.count("Traceback"))
        figures["fuzz"] = fuzz
        print("fuzz: " + ", ".join(f"{key} {value}" for key, value in fuzz.items()))

    if not args.skip_soak:
        port, process = _start(args, args.sessions, "soak-server")
        try:
            result = asyncio.run(soak(f"ws://127.0.0.1:{port}", port, process.pid, args.sessions, args.seconds,
                                      sample_every=max(2.0, args.seconds / 100)))
        finally:
            _stop(process)
        log = (args.log_dir / "soak-server.log").read_text(errors="replace")
        before, after = result.idle_health_before, result.idle_health_after
        soak_figures = {
            "sessions": args.sessions, "seconds": args.seconds, "utterances": result.utterances,
            "finals": result.finals, "errors": len(result.errors),
            "rss_start_mb": round(result.rss_mb[0][1], 1) if result.rss_mb else None,
            "rss_end_mb": round(result.rss_mb[-1][1], 1) if result.rss_mb else None,
            "rss_growth_after_warmup": round(result.rss_growth(), 4),
            "threads_idle_before_after": [before.get("threads"), after.get("threads")],
            "tasks_idle_before_after": [before.get("asyncio_tasks"), after.get("asyncio_tasks")],
            "tracebacks": log.count("Traceback"),
        }
        figures["soak"] = soak_figures
        print("soak: " + ", ".join(f"{key} {value}" for key, value in soak_figures.items()))
        for error in result.errors[:10]:
            print("  error:", error)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
