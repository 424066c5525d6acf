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


BLOCK_PACKAGES = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):  # as in a venv without the vad-torch extra
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'silero_vad'):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def test_the_default_onnx_vad_needs_neither_torch_nor_the_silero_vad_package():
    """The client install leaves out torch and silero-vad (which requires torch): the ONNX file ships with us."""
    code = BLOCK_PACKAGES + ("import numpy as np; from tray_client.capture.vad import SileroVad; "
                             "v = SileroVad.load('onnx'); print(0.0 <= v.probability(np.zeros(512, np.int16)) <= 1.0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]


def test_the_torch_vad_without_its_extra_says_how_to_install_it():
    code = BLOCK_PACKAGES + ("from tray_client.capture.vad import SileroVad, VadLoadError\n"
                             "try:\n    SileroVad.load('torch')\nexcept VadLoadError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "vad-torch" in result.stdout and "--vad onnx" in result.stdout
    assert "download.pytorch.org/whl/cpu" in result.stdout  # the CPU build, not a multi-GB CUDA one


def test_the_shipped_model_is_silero_vads_own_file():
    import hashlib
    from pathlib import Path

    import tray_client.capture.vad as vad_module

    shipped = Path(vad_module.__file__).with_name("data") / "silero_vad.onnx"
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == (
        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3")  # silero-vad 6.2.3's data/silero_vad.onnx
