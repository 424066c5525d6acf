#!/usr/bin/env python3
"""Run a command and say which process was busy while it ran: CPU per process group, sampled every second.

Why: at 256 sessions every process of the measurement is one Python event loop (the load client, asr_server,
vLLM's API server) or one engine-core loop, and any of them at 100 % of one core caps the whole figure, whatever
the GPU does. Groups: `load` (the command itself and its children), `asr_server`, `vllm-api` (vLLM's front end:
request parsing, audio decoding, Whisper features), `vllm-core` (the engine core: scheduling, the GPU launches),
`other`. 100 % = one core busy all the time.

Usage: python cpu_sample.py [--every 1.0] -- COMMAND ...   (prints the command's output, then one table and a
JSON line). Needs psutil.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading

import psutil


def group(process: psutil.Process, load_pids: set[int]) -> str:
    """The group a process belongs to, by its pid (the load) or its command line / title."""
    if process.pid in load_pids:
        return "load"
    try:
        text = " ".join(process.cmdline()) + " " + process.name()
    except (psutil.Error, OSError):
        return "other"
    if "asr_server" in text:
        return "asr_server"
    if "EngineCore" in text:
        return "vllm-core"
    if "vllm" in text or "APIServer" in text:
        return "vllm-api"
    return "other"


def cpu_seconds(load_root: int) -> dict[str, float]:
    """Summed user + system CPU seconds per group, over every live process."""
    try:
        load_pids = {load_root, *(c.pid for c in psutil.Process(load_root).children(recursive=True))}
    except psutil.Error:
        load_pids = {load_root}
    totals: dict[str, float] = {}
    for process in psutil.process_iter():
        try:
            times = process.cpu_times()
        except (psutil.Error, OSError):
            continue
        name = group(process, load_pids)
        totals[name] = totals.get(name, 0.0) + times.user + times.system
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    child = subprocess.Popen(command)
    samples: list[dict[str, float]] = []
    done = threading.Event()

    def sample() -> None:
        previous = cpu_seconds(child.pid)
        while not done.wait(args.every):
            now = cpu_seconds(child.pid)
            # a process that ended between samples drops out of `now`: clamp its negative delta to zero
            samples.append({k: max(0.0, now.get(k, 0.0) - previous.get(k, 0.0)) * 100 / args.every for k in now})
            previous = now

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    code = child.wait()
    done.set()
    thread.join()
    names = sorted({k for s in samples for k in s})
    summary = {name: {"mean_pct": round(sum(s.get(name, 0.0) for s in samples) / max(1, len(samples)), 1),
                      "peak_pct": round(max((s.get(name, 0.0) for s in samples), default=0.0), 1)}
               for name in names}
    print(f"CPU over {len(samples)} samples of {args.every:g} s (100 % = one core):")
    for name in names:
        print(f"  {name:11s} mean {summary[name]['mean_pct']:6.1f} %  peak {summary[name]['peak_pct']:6.1f} %")
    print(json.dumps({"cpu": summary, "samples": len(samples)}), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
