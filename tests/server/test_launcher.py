"""scripts/start_server.sh: checks the GPU, sizes vLLM's memory, prints the URL, passes flags through."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

FAKE_NVIDIA_SMI = """#!/bin/sh
case "$*" in
  *memory.total*) echo "12288, 11000" ;;
  *name*) echo "NVIDIA GeForce RTX 4070" ;;
esac
"""


def _run(tmp_path: Path, *args: str, with_gpu: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if with_gpu:
        smi = bin_dir / "nvidia-smi"
        smi.write_text(FAKE_NVIDIA_SMI)
        smi.chmod(0o755)
    venv = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv"))
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", SERVER_VENV=str(venv), SKIP_INSTALL="1")
    return subprocess.run(["bash", "scripts/start_server.sh", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_sizes_gpu_memory_and_passes_it_to_the_server(tmp_path, tiny_checkpoint):
    # No engine runs here, so the server ends at once on a bad engine URL after the launcher's work.
    result = _run(tmp_path, "--model", str(tiny_checkpoint), "--max-sessions", "4", "--port", "8799",
                  "--engine-url", "no-scheme")
    out = result.stdout
    assert "NVIDIA GeForce RTX 4070" in out
    assert "4 sessions of up to 4096 tokens" in out and "--gpu-memory-utilization 0." in out
    assert "ws://127.0.0.1:8799" in out
    assert result.returncode == 2 and "--engine-url" in result.stderr.strip().splitlines()[-1]


def test_without_a_gpu_it_says_what_to_do(tmp_path):
    result = _run(tmp_path, "--model", "Qwen/Qwen3-ASR-1.7B", with_gpu=False)
    assert result.returncode == 1
    assert "nvidia-smi not found" in result.stderr and "--backend transformers" in result.stderr
