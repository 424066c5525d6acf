"""What the client's text stage adds per final, and what the optional LLM clean-up adds against a local endpoint.

    python scripts/bench_text.py [--runs 3000] [--cleanup-runs 200]

Part 1 times `TextStage.process` (sanitize, voice commands, Chinese script, replacements, suffix: everything
between the server's final and the sink, without the sink) on 200-character finals as Qwen3-ASR writes them,
in English, Chinese and mixed text, with and without OpenCC and a 100-entry replacement table. Target: under
2 ms at p99. Part 2 times `CleanupClient.clean` against the fake chat endpoint (dictation_devtools.fake_chat) on
loopback: the clean-up's own overhead (HTTP, JSON, the worker thread), not a model's generation time; and a
stalled endpoint, which must cost the timeout and no more.
Each final is timed in wall-clock time and in the thread's CPU time: on a shared machine the wall-clock p99 is
mostly other processes' time slices, the CPU time is the stage's own cost.
Prints tables and ends with one JSON line; record full runs in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import time

from bench_common import machine_line, percentile, print_table

from dictation_devtools.fake_chat import FakeChat
from tray_client.config import ClientConfig
from tray_client.text.cleanup import CleanupClient, CleanupSettings
from tray_client.text.profiles import base_profile
from tray_client.text.stage import TextStage

LENGTH = 200
TEXTS = {
    "English": "So the plan for next week is simple, new line, we ship the beta on Tuesday, collect feedback "
               "from the pilot customers, and fix whatever breaks before the Friday review with the open ai team. ",
    "Chinese": "我们下周的计划很简单，换行，周二发布测试版，收集试点客户的反馈，在周五评审之前修复所有问题。"
               "这个软件的设置界面也需要重新设计，我司的团队会负责这部分工作，请大家准时参加会议。",
    "mixed": "今天我们用Qwen3-ASR测试了一下，new line，识别效果不错，vLLM的延迟也很低。下一步把open ai的接口接进来，"
             "然后在Windows上跑一遍完整的测试，我司的同事会帮忙看一下日志。",
}
# 100 entries: the user's names and snippets, Latin and CJK, as a heavy table would have.
REPLACEMENTS = {**{f"project {n}": f"Project-{n}" for n in range(60)},
                **{f"客户{n}号": f"客户No.{n}" for n in range(35)},
                "open ai": "OpenAI", "我司": "我们公司", "qwen three": "Qwen3", "v llm": "vLLM", "k8s": "Kubernetes"}
CONFIGS = {
    "sanitize only": ClientConfig(voice_commands=False),
    "defaults (sanitize + commands)": ClientConfig(),
    "+ 100 replacements": ClientConfig(replacements=REPLACEMENTS),
    "+ OpenCC traditional": ClientConfig(chinese_script="traditional"),
    "+ OpenCC + replacements": ClientConfig(chinese_script="traditional", replacements=REPLACEMENTS),
}


def exactly(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


def time_stage(runs: int) -> list[dict[str, object]]:
    results = []
    for name, config in CONFIGS.items():
        stage, profile = TextStage(), base_profile(config)
        for language, sample in TEXTS.items():
            text = exactly(sample, LENGTH)
            for _ in range(50):  # warm-up: compiled rules, OpenCC dictionaries loaded on first use
                stage.process(text, profile, language)
            wall, cpu = [], []
            for _ in range(runs):
                started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
                stage.process(text, profile, language)
                cpu.append((time.thread_time_ns() - started_cpu) / 1000)
                wall.append((time.perf_counter_ns() - started) / 1000)
            results.append({"config": name, "text": language, "p50_us": percentile(wall, 50),
                            "p99_us": percentile(wall, 99), "max_us": max(wall),
                            "cpu_p50_us": percentile(cpu, 50), "cpu_p99_us": percentile(cpu, 99)})
    return results


def time_cleanup(runs: int) -> dict[str, float]:
    text = exactly(TEXTS["English"], LENGTH)
    with FakeChat() as chat:
        client = CleanupClient(CleanupSettings(chat.url, model="fake"))
        for _ in range(10):
            client.clean(text)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            result = client.clean(text)
            samples.append((time.perf_counter() - started) * 1000)
            assert result.cleaned, result.reason
        client.close()
    stalled = []
    with FakeChat("slow", delay_s=5.0) as chat:
        client = CleanupClient(CleanupSettings(chat.url, timeout_s=1.5))
        for _ in range(3):
            started = time.perf_counter()
            result = client.clean(text)
            stalled.append((time.perf_counter() - started) * 1000)
            assert not result.cleaned and result.text == text
        client.close()
    return {"p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "max_ms": max(samples),
            "stalled_max_ms": max(stalled)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000, help="timed runs per configuration and text")
    parser.add_argument("--cleanup-runs", type=int, default=200, help="timed clean-up requests")
    args = parser.parse_args()
    print(machine_line())
    print(f"\nText stage per {LENGTH}-character final, µs ({args.runs} runs each):\n")
    stage = time_stage(args.runs)
    print_table(["configuration", "text", "p50 µs", "p99 µs", "max µs", "CPU p50 µs", "CPU p99 µs"],
                [[r["config"], r["text"], r["p50_us"], r["p99_us"], r["max_us"], r["cpu_p50_us"], r["cpu_p99_us"]]
                 for r in stage])
    cleanup = time_cleanup(args.cleanup_runs)
    print(f"\nClean-up against the fake endpoint on loopback, ms ({args.cleanup_runs} requests):\n")
    print_table(["what", "p50 ms", "p99 ms", "max ms"],
                [["clean-up overhead (instant reply)", cleanup["p50_ms"], cleanup["p99_ms"], cleanup["max_ms"]],
                 ["stalled endpoint, timeout 1.5 s", "", "", cleanup["stalled_max_ms"]]])
    worst = max(float(r["p99_us"]) for r in stage)  # type: ignore[arg-type]
    worst_cpu = max(float(r["cpu_p99_us"]) for r in stage)  # type: ignore[arg-type]
    print(f"\nworst p99 of the text stage: {worst / 1000:.3f} ms wall, {worst_cpu / 1000:.3f} ms CPU "
          "(target < 2 ms; wall time includes being preempted on a busy machine, CPU time does not)")
    print(json.dumps({"bench": "text", "stage": stage, "cleanup": cleanup, "worst_p99_ms": worst / 1000,
                      "worst_cpu_p99_ms": worst_cpu / 1000}))


if __name__ == "__main__":
    main()
