"""How much GPU memory the vLLM server needs, so the launcher can size --gpu-memory-utilization.

vLLM's default (0.9 of the whole GPU) fails on a desktop GPU that also drives the display, and wastes memory when
a few sessions need far less. The estimate: bf16 weights + KV cache for `max_sessions` full-length sequences +
a fixed allowance for activations, CUDA graphs and the CUDA context. `scripts/start_server.sh` runs
`python -m asr_server.gpu_budget` with the numbers from nvidia-smi and prints the explanation.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ModelFootprint:
    """Sizes of a Qwen3-ASR model that decide its memory (from the Qwen3 LM configs; the encoder is estimated)."""

    name: str
    parameters: float  # audio encoder + language model
    layers: int
    kv_heads: int
    head_dim: int

    def weights_mib(self) -> float:
        """bf16: two bytes per parameter."""
        return self.parameters * 2 / MIB

    def kv_mib_per_token(self) -> float:
        """K and V, every layer, bf16."""
        return self.layers * self.kv_heads * self.head_dim * 2 * 2 / MIB


# Qwen3-0.6B / Qwen3-1.7B language models: 28 layers, 8 KV heads of 128 dims. The audio encoders are about
# 0.2B and 0.3B parameters (an assumption from the Qwen3-ASR paper's description, not a measured number).
FOOTPRINTS = (
    ModelFootprint("Qwen3-ASR-0.6B", 0.6e9 + 0.2e9, 28, 8, 128),
    ModelFootprint("Qwen3-ASR-1.7B", 1.7e9 + 0.3e9, 28, 8, 128),
)
# CUDA context, activations (the audio encoder's on a 30 s clip), CUDA graphs, sampler. vLLM 0.26 on an H100
# with the 1.7B (2026-12-07): 42.8 GB in use at 0.5 with 3.9 GiB of weights and 35 GiB of KV cache, so ~2 GiB.
OVERHEAD_MIB = 2048
# vLLM's own profile decides what is left for the KV cache; when it finds more overhead than estimated, the KV
# cache shrinks (at 0.11 of an H100 it held 7.75 full-length requests, not 8). The margin keeps the promise.
SAFETY_MARGIN = 1.15
HEADROOM_MIB = 512  # left free for the display and other programs


def footprint_for(model: str) -> ModelFootprint:
    """0.6B if the name says so, else the 1.7B (the larger, so the estimate errs on the safe side)."""
    return FOOTPRINTS[0] if "0.6b" in model.lower() else FOOTPRINTS[1]


@dataclass(frozen=True)
class Budget:
    """The estimate and the fraction to pass to vLLM (None when it does not fit)."""

    weights_mib: float
    kv_mib: float
    overhead_mib: float
    needed_mib: float
    total_mib: float
    free_mib: float
    utilization: float | None

    def explain(self, model: str, max_sessions: int, max_model_len: int) -> str:
        """The lines the launcher prints."""
        lines = [
            f"GPU memory for {model}, {max_sessions} sessions of up to {max_model_len} tokens:",
            f"  weights {self.weights_mib / 1024:.1f} GiB + KV cache {self.kv_mib / 1024:.1f} GiB "
            f"+ overhead {self.overhead_mib / 1024:.1f} GiB, +{SAFETY_MARGIN - 1:.0%} margin on the last two "
            f"= {self.needed_mib / 1024:.1f} GiB",
            f"  GPU: {self.total_mib / 1024:.1f} GiB total, {self.free_mib / 1024:.1f} GiB free now",
        ]
        if self.utilization is None:
            lines.append("  does NOT fit: use --max-sessions 2, --max-model-len 2048, the 0.6B model, or close "
                         "programs that use the GPU (nvidia-smi lists them)")
        else:
            lines.append(f"  --gpu-memory-utilization {self.utilization:.2f} "
                         f"(vLLM's default 0.9 would take {0.9 * self.total_mib / 1024:.1f} GiB)")
        return "\n".join(lines)


def estimate(model: str, max_sessions: int, max_model_len: int, total_mib: float, free_mib: float) -> Budget:
    """Size the fraction of the GPU vLLM may take; None when even that would not fit in what is free."""
    footprint = footprint_for(model)
    weights = footprint.weights_mib()
    kv = footprint.kv_mib_per_token() * max_model_len * max_sessions
    needed = weights + (kv + OVERHEAD_MIB) * SAFETY_MARGIN
    # vLLM refuses to start unless utilization x total is free at start, so stay under what is free now.
    fits = needed <= free_mib - HEADROOM_MIB
    utilization = round(min(0.95, max(needed / total_mib, 0.05)) + 0.005, 2) if fits else None
    if utilization is not None and utilization * total_mib > free_mib:
        utilization = None
    return Budget(weights, kv, OVERHEAD_MIB, needed, total_mib, free_mib, utilization)


def main(argv: list[str] | None = None) -> int:
    """Print the explanation; the last line is `GPU_MEMORY_UTILIZATION=<f>` (or exit 3 when it does not fit)."""
    parser = argparse.ArgumentParser(prog="python -m asr_server.gpu_budget", description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--max-sessions", type=int, default=8)
    parser.add_argument("--max-model-len", type=int, default=4096)
    parser.add_argument("--total-mib", type=float, required=True, help="nvidia-smi memory.total")
    parser.add_argument("--free-mib", type=float, required=True, help="nvidia-smi memory.free")
    args = parser.parse_args(argv)
    budget = estimate(args.model, args.max_sessions, args.max_model_len, args.total_mib, args.free_mib)
    print(budget.explain(args.model, args.max_sessions, args.max_model_len))
    if budget.utilization is None:
        return 3
    print(f"GPU_MEMORY_UTILIZATION={budget.utilization:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
