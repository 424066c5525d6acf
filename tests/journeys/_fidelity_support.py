"""Support for the fidelity journey: run the headless client as a user does and score what the server got."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dictation_devtools.fidelity import FRAME_SAMPLES, Fidelity, locate, measure, oracle_regions
from dictation_devtools.recording_server import RecordingServer

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Dictated:
    """What the user saw (the printed finals) and what reached the server, scored against offline Silero."""

    printed: list[str]
    utterances: int
    fidelity: Fidelity


def dictate_file(path: Path, samples: np.ndarray, *extra: str) -> Dictated:
    """`python -m tray_client --no-tray --input-wav PATH --output stdout` against a recording server."""
    from tray_client.capture.vad import SileroVad

    with RecordingServer() as server:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        result = subprocess.run(
            [sys.executable, "-m", "tray_client", "--no-tray", "--server", server.url, "--input-wav", str(path),
             "--output", "stdout", *extra], cwd=REPO_ROOT, env=env, capture_output=True, timeout=300)
        utterances = server.stopped()
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-2000:]
    vad = SileroVad.load("onnx")
    frames = len(samples) // FRAME_SAMPLES
    core = oracle_regions([vad.probability(samples[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
                           for i in range(frames)])
    sent = locate(samples, [bytes(item.pcm) for item in utterances])
    return Dictated(result.stdout.decode("utf-8").splitlines(), len(utterances), measure(core, sent, len(samples)))
