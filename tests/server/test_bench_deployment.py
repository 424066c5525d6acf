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
