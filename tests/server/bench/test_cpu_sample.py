"""scripts/gpu/cpu_sample.py: runs a command, passes its exit status on, and says which group was busy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BUSY = "import time\nend = time.process_time() + 1.5\nwhile time.process_time() < end: pass\nraise SystemExit(3)"


def test_cpu_sample_puts_the_command_in_the_load_group() -> None:
    out = subprocess.run([sys.executable, "scripts/gpu/cpu_sample.py", "--every", "0.25", "--", sys.executable,
                          "-c", BUSY], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["samples"] >= 2
    # 1.5 s of CPU in a run of a few seconds: the load group was busy, whatever else the machine did
    assert figures["cpu"]["load"]["peak_pct"] > 10


def test_cpu_sample_without_a_command_says_so() -> None:
    out = subprocess.run([sys.executable, "scripts/gpu/cpu_sample.py"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "give the command after --" in out.stderr
