#!/usr/bin/env python3
"""GPU step latency of Qwen3-ASR-shaped models (random weights, bf16) through the transformers backend.

One streaming step re-feeds the accumulated audio of every session in the batch and generates a fixed number of
tokens. This measures that step against accumulated audio (2, 5, 10, 20 s) at batch 1, 8 and 32, for models of the
real 0.6B and 1.7B sizes, and fits the cost model that `bench_server.py` uses:

    step_seconds = per_call + per_item * batch + per_audio_second * total_audio_seconds (+ per_token * tokens)

Real weights cannot be fetched, so the weights are random; the compute per step depends on the shapes only
(attention, matmuls and the KV cache do not care what the numbers are). The shapes are assumptions, see SHAPES.

Usage: python scripts/bench_gpu.py [--quick] [--sizes 0.6B,1.7B] [--tokens 32]
Needs CUDA, torch, and qwen-asr with transformers 4.57 (see BENCHMARKS.md for how it was run on an H100).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dictation_devtools.tiny_checkpoint import CheckpointShape, checkpoint_config, train_tokenizer

# Assumed shapes. Text decoders: the published Qwen3-0.6B / Qwen3-1.7B configs (hidden 1024 / 2048, 28 layers,
# 16 query heads, 8 KV heads, head_dim 128, FFN 3072 / 6144, vocab 151936). Audio encoders (AuT): the Qwen3-ASR
# report gives about 180M / 300M parameters; the layer sizes below (896 / 1024 wide, 18 / 24 layers) are our
# assumption to match those counts.
SHAPES: dict[str, CheckpointShape] = {
    "0.6B": CheckpointShape(
        vocab_size=151936, audio_d_model=896, audio_layers=18, audio_heads=14, audio_ffn=3584,
        audio_downsample=480, text_hidden=1024, text_layers=28, text_heads=16, text_kv_heads=8,
        text_head_dim=128, text_intermediate=3072, max_position_embeddings=65536,
    ),
    "1.7B": CheckpointShape(
        vocab_size=151936, audio_d_model=1024, audio_layers=24, audio_heads=16, audio_ffn=4096,
        audio_downsample=480, text_hidden=2048, text_layers=28, text_heads=16, text_kv_heads=8,
        text_head_dim=128, text_intermediate=6144, max_position_embeddings=65536,
    ),
}


def build_model(shape: CheckpointShape, workdir: Path, device: str = "cuda", dtype_name: str = "bfloat16"):  # noqa: ANN201 - torch types are imported lazily
    import torch
    from qwen_asr.core.transformers_backend import (
        Qwen3ASRConfig,
        Qwen3ASRForConditionalGeneration,
        Qwen3ASRProcessor,
    )
    from transformers import AutoTokenizer, WhisperFeatureExtractor

    from dictation_devtools.tiny_checkpoint import CHAT_TEMPLATE

    ids = train_tokenizer(workdir, 512)
    tokenizer = AutoTokenizer.from_pretrained(workdir)
    config = Qwen3ASRConfig(**checkpoint_config(shape, ids, shape.vocab_size))
    config.thinker_config._attn_implementation = "sdpa"
    config.thinker_config.audio_config._attn_implementation = "sdpa"
    config.thinker_config.text_config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen3ASRForConditionalGeneration(config)
    model = model.to(getattr(torch, dtype_name)).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    processor = Qwen3ASRProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer, chat_template=CHAT_TEMPLATE
    )
    params = sum(p.numel() for p in model.parameters())
    return model, processor, params


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step(model, processor, prompt: str, audios: list[np.ndarray], tokens: int, device: str = "cuda") -> tuple[float, float]:
    """One batched streaming step; returns (prepare_seconds, generate_seconds)."""
    _sync(device)
    start = time.perf_counter()
    inputs = processor(text=[prompt] * len(audios), audio=audios, return_tensors="pt", padding=True)
    inputs = inputs.to(device).to(model.dtype)
    _sync(device)
    prepared = time.perf_counter()
    import torch

    with torch.no_grad():
        model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
    _sync(device)
    return prepared - start, time.perf_counter() - prepared


def fit_cost_model(rows: list[dict]) -> dict[str, float]:
    """Least squares: total = per_call + per_item*batch + per_audio_second*batch*audio_s (+ per_token*tokens)."""
    design = np.array([[1.0, r["batch"], r["batch"] * r["audio_s"], r["tokens"]] for r in rows])
    target = np.array([r["p50_ms"] / 1000.0 for r in rows])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return {
        "per_call_s": round(float(coef[0]), 5),
        "per_item_s": round(float(coef[1]), 5),
        "per_audio_second_s": round(float(coef[2]), 6),
        "per_token_s": round(float(coef[3]), 6),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="0.6B only, fewer points and repeats")
    parser.add_argument("--sizes", default="0.6B,1.7B")
    parser.add_argument("--tokens", type=int, default=32, help="generated tokens per step (fixed)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda", help="cuda (the measurement) or cpu (a smoke run of the script)")
    parser.add_argument("--tiny", action="store_true", help="use the tiny test shape instead (smoke run on CPU)")
    args = parser.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA GPU; none is visible to torch.", file=sys.stderr)
        return 2
    sizes = ["0.6B"] if args.quick else args.sizes.split(",")
    audio_lengths = [2, 10] if args.quick else [2, 5, 10, 20]
    batches = [1, 8] if args.quick else [1, 8, 32]
    token_counts = [1, args.tokens]
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    shapes = {name: CheckpointShape() for name in sizes} if args.tiny else SHAPES
    dtype_name = "bfloat16" if args.device.startswith("cuda") else "float32"
    results: dict[str, dict] = {}
    print(f"device: {gpu}; torch {torch.__version__}; {dtype_name}; sdpa; random weights")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            model, processor, params = build_model(shapes[size], Path(tmp), args.device, dtype_name)
        prompt = processor.apply_chat_template(
            [{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "audio", "audio": ""}]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        rows = []
        print(f"\nQwen3-ASR-{size}-shaped model: {params / 1e9:.2f} B parameters")
        print(f"{'audio s':>8} {'batch':>6} {'tokens':>7} {'prep ms':>9} {'p50 ms':>9} {'p90 ms':>9} {'ms/item':>9}")
        for audio_s in audio_lengths:
            for batch in batches:
                audios = [(rng.standard_normal(audio_s * 16000) * 0.05).astype(np.float32) for _ in range(batch)]
                for tokens in token_counts:
                    step(model, processor, prompt, audios, tokens, args.device)  # warm-up (kernels, allocator)
                    preps, totals = [], []
                    for _ in range(repeats):
                        prep, gen = step(model, processor, prompt, audios, tokens, args.device)
                        preps.append(prep)
                        totals.append(prep + gen)
                    totals.sort()
                    row = {
                        "audio_s": audio_s, "batch": batch, "tokens": tokens,
                        "prep_ms": round(statistics.median(preps) * 1000, 1),
                        "p50_ms": round(statistics.median(totals) * 1000, 1),
                        "p90_ms": round(totals[min(len(totals) - 1, int(0.9 * len(totals)))] * 1000, 1),
                    }
                    rows.append(row)
                    print(f"{audio_s:>8} {batch:>6} {tokens:>7} {row['prep_ms']:>9} {row['p50_ms']:>9} "
                          f"{row['p90_ms']:>9} {row['p50_ms'] / batch:>9.1f}")
        cost = fit_cost_model(rows)
        print(f"fitted cost model ({size}): {cost}")
        results[size] = {"params": params, "rows": rows, "cost_model": cost}
        del model
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    print(json.dumps({"bench": "gpu", "gpu": gpu, "torch": torch.__version__, "tokens": args.tokens,
                      "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
