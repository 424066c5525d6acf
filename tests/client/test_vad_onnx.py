"""`--vad onnx` runs Silero on onnxruntime with numpy only: same probabilities as silero-vad's wrapper, no torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from tray_client.capture.segmenter import FRAME_SAMPLES
from tray_client.capture.vad import SileroVad


def test_numpy_onnx_matches_silero_vads_own_wrapper(speech):
    import torch
    from silero_vad import load_silero_vad

    ours = SileroVad.load("onnx")
    reference = load_silero_vad(onnx=True)
    samples = speech.english.samples[: FRAME_SAMPLES * 200]
    frames = samples.reshape(-1, FRAME_SAMPLES)
    got = [ours.probability(frame) for frame in frames]
    expected = [float(reference(torch.from_numpy(frame.astype(np.float32) / 32768.0), 16000).item())
                for frame in frames]
    assert np.max(np.abs(np.array(got) - np.array(expected))) < 1e-4
    assert max(got) > 0.9 and min(got) < 0.1, "the fixture has speech and silence"
    # Reset: the same frames after a reset give the same probabilities as from a fresh stream.
    ours.reset()
    again = [ours.probability(frame) for frame in frames[:20]]
    assert np.allclose(again, got[:20], atol=1e-6)


def test_onnx_vad_never_imports_torch():
    code = ("import sys, numpy as np; from tray_client.capture.vad import SileroVad; v = SileroVad.load('onnx'); "
            "p = v.probability(np.zeros(512, dtype=np.int16)); "
            "print('torch' in sys.modules, 0.0 <= p <= 1.0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
