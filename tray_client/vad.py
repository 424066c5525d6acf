"""Silero VAD from the `silero-vad` package: speech probability of one 512-sample frame, state reset per utterance.

The model is loaded from the files shipped inside the package (no torch.hub, no download). torch is imported
only here and only when `SileroVad.load` runs, so importing tray_client stays light. The instance is owned by one
thread (the pipeline's VAD worker); Silero keeps recurrent state between calls and is not thread-safe.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tray_client.segmenter import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)


class VadLoadError(RuntimeError):
    """Silero VAD could not be loaded; the message says which runtime and how to install it."""


class SileroVad:
    """A loaded Silero VAD model ("torch" JIT or "onnx")."""

    def __init__(self, model: Any, kind: str) -> None:
        self._model = model
        self.kind = kind
        self.resets = 0  # how many times the recurrent state was cleared (observable for tests and logs)

    @classmethod
    def load(cls, kind: str = "torch") -> SileroVad:
        """Load the model on the calling thread, which becomes its owner; torch is limited to one thread."""
        if kind not in ("torch", "onnx"):
            raise VadLoadError(f"vad={kind!r}: use \"torch\" or \"onnx\"")
        try:
            import torch
            from silero_vad import load_silero_vad
        except ImportError as error:
            raise VadLoadError(f"silero-vad or torch is missing ({error}): pip install silero-vad torch") from error
        torch.set_num_threads(1)
        try:
            model = load_silero_vad(onnx=(kind == "onnx"))
        except ImportError as error:
            raise VadLoadError(f"vad=onnx needs onnxruntime ({error}): pip install onnxruntime, "
                               "or use --vad torch") from error
        log.info("Silero VAD loaded (%s)", kind)
        return cls(model, kind)

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability (0..1) of one frame of 512 int16 samples at 16 kHz."""
        import torch

        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"Silero needs {FRAME_SAMPLES}-sample frames at {SAMPLE_RATE} Hz, got {frame.shape}")
        tensor = torch.from_numpy(frame.astype(np.float32) / 32768.0)
        with torch.inference_mode():
            return float(self._model(tensor, SAMPLE_RATE).item())

    def reset(self) -> None:
        """Clear the recurrent state: each utterance starts from scratch, so one cannot bias the next."""
        self._model.reset_states()
        self.resets += 1
