"""Silero VAD: speech probability of one 512-sample frame, state reset per utterance.

No torch.hub, no download. The default runtime is ONNX: `--vad onnx` runs Silero's ONNX file, which ships with the
client (capture/data/, from the silero-vad wheel), on onnxruntime with numpy alone, so the client neither loads nor
needs torch (a peak RSS of 101 MB against 288 MB with torch, BENCHMARKS.md). `--vad torch` needs the `vad-torch`
extra (torch and the silero-vad package, about 750 MB); torch is imported only here and only then. A
missing Visual C++ runtime on Windows is named, with the download, instead of a bare DLL error. The instance is used by one
thread at a time (loaded on a worker, then scored on the pipeline thread); Silero keeps recurrent state between calls
and is not thread-safe.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)


TORCH_MISSING = (
    "vad=torch needs torch and silero-vad, which the default client install leaves out ({error}). Install them "
    "(CPU build, about 750 MB): pip install torch --index-url https://download.pytorch.org/whl/cpu && "
    "pip install -e \".[client,vad-torch]\" (the launchers do this when started with --vad torch); or use the "
    "default --vad onnx, which needs neither"
)


class VadLoadError(RuntimeError):
    """Silero VAD could not be loaded; the message says which runtime and how to install it."""


VC_REDIST_URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
MISSING_VC_RUNTIME = (
    "the Microsoft Visual C++ runtime is missing, so {runtime} cannot load ({error}). Install the Visual C++ "
    f"Redistributable (x64) from {VC_REDIST_URL}, then restart the dictation app"
)


def _is_missing_dll(error: BaseException) -> bool:
    """Windows' "a DLL or one of its dependencies was not found": torch raises OSError [WinError 126] (c10.dll
    needs vcruntime140*.dll / msvcp140.dll), onnxruntime an ImportError "DLL load failed"."""
    return getattr(error, "winerror", None) == 126 or "DLL load failed" in str(error)


class SileroVad:
    """A loaded Silero VAD model ("torch" JIT or "onnx")."""

    def __init__(self, model: Any, kind: str) -> None:
        self._model = model
        self.kind = kind
        self.resets = 0  # how many times the recurrent state was cleared (observable for tests and logs)

    @classmethod
    def load(cls, kind: str = "onnx") -> SileroVad:
        """Load the model (blocking; call it off the event loop); one intra-op thread either way."""
        if kind not in ("torch", "onnx"):
            raise VadLoadError(f"vad={kind!r}: use \"onnx\" or \"torch\"")
        try:
            model = _load_onnx() if kind == "onnx" else _load_torch()
        except (OSError, ImportError) as error:
            if _is_missing_dll(error):
                raise VadLoadError(MISSING_VC_RUNTIME.format(runtime=kind, error=error)) from error
            raise
        log.info("Silero VAD loaded (%s)", kind)
        return cls(model, kind)

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability (0..1) of one frame of 512 int16 samples at 16 kHz."""
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"Silero needs {FRAME_SAMPLES}-sample frames at {SAMPLE_RATE} Hz, got {frame.shape}")
        audio = frame.astype(np.float32) / 32768.0
        if isinstance(self._model, OnnxSilero):
            return self._model.probability(audio)
        import torch

        with torch.inference_mode():
            return float(self._model(torch.from_numpy(audio), SAMPLE_RATE).item())

    def probabilities(self, frames: list[np.ndarray]) -> list[float]:
        """`probability` of each frame in order (one hand-off from the pipeline thread for a block of them)."""
        return [self.probability(frame) for frame in frames]

    def reset(self) -> None:
        """Clear the recurrent state: each utterance starts from scratch, so one cannot bias the next."""
        self._model.reset_states()
        self.resets += 1


def _load_torch() -> Any:
    try:
        import torch
        from silero_vad import load_silero_vad
    except ImportError as error:
        if _is_missing_dll(error):
            raise
        raise VadLoadError(TORCH_MISSING.format(error=error)) from error
    torch.set_num_threads(1)
    return load_silero_vad(onnx=False)


def _package_file(name: str) -> Path:
    """A Silero model file: the copy shipped with the client, else the silero-vad wheel's (found without importing
    the package, which imports torch)."""
    shipped = Path(__file__).with_name("data") / name
    if shipped.is_file():
        return shipped
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VadLoadError("silero-vad is not installed: pip install silero-vad")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise VadLoadError(f"{path} is missing from the silero-vad package: reinstall it (pip install -U silero-vad)")
    return path


def _load_onnx() -> OnnxSilero:
    try:
        import onnxruntime
    except ImportError as error:
        if _is_missing_dll(error):
            raise
        raise VadLoadError(f"vad=onnx needs onnxruntime ({error}): pip install onnxruntime, "
                           "or use --vad torch") from error
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(_package_file("silero_vad.onnx")), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return OnnxSilero(session)


class OnnxSilero:
    """Silero's ONNX model driven with numpy only, as silero-vad's OnnxWrapper drives it with torch tensors.

    Keeping torch out of the ONNX path is the point of `--vad onnx`: torch alone is ~250 MB of resident memory,
    while onnxruntime and numpy are ~50 MB. Each call sees the previous frame's last 64 samples as context and
    carries the 2x1x128 recurrent state.
    """

    CONTEXT_SAMPLES = 64

    def __init__(self, session: Any) -> None:
        self._session = session
        self._sample_rate = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset_states()

    def reset_states(self) -> None:
        """Zero state and context, as at the start of a stream."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, self.CONTEXT_SAMPLES), dtype=np.float32)

    def probability(self, audio: np.ndarray) -> float:
        """Speech probability of 512 float32 samples in [-1, 1]."""
        window = np.concatenate([self._context, audio.reshape(1, -1)], axis=1)
        output, self._state = self._session.run(None, {"input": window, "state": self._state,
                                                       "sr": self._sample_rate})
        self._context = window[:, -self.CONTEXT_SAMPLES:]
        return float(output.reshape(-1)[0])
