"""bench_server.py --url drives a running deployment (here asr_server + the fake engine) with WAV speech."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from dictation_devtools.fake_engine import FakeEngine
from dictation_devtools.servers import running_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def _wav(path: Path, seconds: float, amplitude: int) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(np.full(round(seconds * 16000), amplitude, "<i2").tobytes())


def test_bench_server_url_measures_a_running_deployment(tiny_checkpoint, tmp_path):
    _wav(tmp_path / "a.wav", 1.2, 300)
    _wav(tmp_path / "b.wav", 2.0, 500)
    with FakeEngine(tiny_checkpoint) as engine, \
            running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        out = subprocess.run([sys.executable, "scripts/bench_server.py", "--url", server.url, "--wavs",
                              str(tmp_path), "--sessions", "1,3", "--utterances", "1", "--stops", "spread,burst"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("1", "spread"), ("1", "burst"), ("3", "spread"), ("3", "burst")]
    assert all(r[5] in ("1/1", "3/3") for r in rows), "every final arrived"
    assert "sessions within p95 end of speech -> final <= 0.25 s" in out.stdout
    assert len(engine.calls) >= 8


def test_client_like_stops_end_each_clip_as_the_tray_client_does(tiny_checkpoint, tmp_path):
    """160 ms of near-silence, the silence event (the server decodes the final then), stop at 400 ms: the one
    final decode carries the clip and that tail, and no second final is decoded after the stop."""
    _wav(tmp_path / "a.wav", 1.2, 300)
    with FakeEngine(tiny_checkpoint) as engine, \
            running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url) as server:
        out = subprocess.run([sys.executable, "scripts/bench_server.py", "--url", server.url, "--wavs",
                              str(tmp_path), "--sessions", "1", "--utterances", "1", "--stops", "spread",
                              "--client-like"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "stops as the tray client sends them" in out.stdout
    finals = [call for call in engine.calls if call.priority == 0]
    assert [len(call.audio) for call in finals] == [round(1.2 * 16000) + 5 * 512]


def test_engine_breakdown_is_the_mean_of_each_histogram_between_two_snapshots():
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from bench_deployment import engine_breakdown, engine_row, histogram_totals

    def metrics(queue_sum: float, e2e_sum: float, count: int) -> str:
        lines = []
        for name, total in (("vllm:request_queue_time_seconds", queue_sum),
                            ("vllm:request_prefill_time_seconds", 0.0), ("vllm:request_decode_time_seconds", 0.0),
                            ("vllm:e2e_request_latency_seconds", e2e_sum),
                            ("vllm:time_to_first_token_seconds", 0.0)):
            lines += [f"# HELP {name} x", f"# TYPE {name} histogram",
                      f'{name}_bucket{{engine="0",le="+Inf",model_name="m"}} {count}.0',
                      f'{name}_count{{engine="0",model_name="m"}} {count}.0',
                      f'{name}_sum{{engine="0",model_name="m"}} {total}']
        return "\n".join(lines) + "\n"

    means = engine_breakdown(histogram_totals(metrics(1.0, 2.0, 10)), histogram_totals(metrics(3.0, 8.0, 14)))
    assert means["requests"] == 4
    assert means["queue_mean_s"] == 0.5 and means["e2e_mean_s"] == 1.5
    assert "4 requests, mean queue 0.500" in engine_row(means)
