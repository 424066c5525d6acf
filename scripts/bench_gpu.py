#!/usr/bin/env python3
"""GPU step latency of Qwen3-ASR-shaped models (random weights, bf16) through the transformers backend.

One streaming step re-feeds the accumulated audio of every session in the batch and generates a fixed number of
tokens. This measures that step against accumulated audio (2, 5, 10, 20 s) at batch 1, 8 and 32, for models of the
real 0.6B and 1.7B sizes, and fits the cost model that `bench_server.py` uses:

    step_seconds = per_call + per_item * batch + per_audio_second * total_audio_seconds (+ per_token * tokens)

Real weights cannot be fetched, so the weights are random; the compute per step depends on the shapes only
(attention, matmuls and the KV cache do not care what the numbers are). The shapes are assumptions, see SHAPES.

Two more modes measure what a continuous-batching engine and the CUDA transformers backend cost per token:

- `--mode decoder`: the bare text decoder of each size (transformers' Qwen3 causal LM with the published Qwen3
  configs' shapes, which are Qwen3-ASR's thinker text configs), random bf16 weights, at batch 1, 4, 16, 64:
  prefill of a prompt (`generate` with one new token) and the per-token decode cost ((t(1 + N) - t(1)) / N),
  eager (dynamic cache) against a static KV cache with `generate`'s own compile (CUDA graphs).
- `--mode backend`: the same two figures through the real `TransformersBackend` (asr_server) on a random-weight
  full-size Qwen3-ASR checkpoint built on the spot, eager against its CUDA static-cache path.

Usage: python scripts/bench_gpu.py [--mode step|decoder|backend] [--quick] [--sizes 0.6B,1.7B] [--tokens 32]
Needs CUDA, torch, and qwen-asr with transformers 4.57 (see BENCHMARKS.md for how it was run on the lent GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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


def _timed(run: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of `run()` over `repeats` calls, the GPU synchronised around each."""
    times = []
    for _ in range(repeats):
        _sync("cuda")
        start = time.perf_counter()
        run()
        _sync("cuda")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def decoder_rows(size: str, batches: list[int], prompt_tokens: int, new_tokens: int, repeats: int) -> list[dict]:
    """Prefill ms and decode ms/token of the bare Qwen3 decoder of `size`, eager and static cache + compile."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    shape = SHAPES[size]
    config = Qwen3Config(
        vocab_size=shape.vocab_size, hidden_size=shape.text_hidden, intermediate_size=shape.text_intermediate,
        num_hidden_layers=shape.text_layers, num_attention_heads=shape.text_heads,
        num_key_value_heads=shape.text_kv_heads, head_dim=shape.text_head_dim, tie_word_embeddings=True,
        max_position_embeddings=shape.max_position_embeddings, attn_implementation="sdpa")
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(config).to(torch.bfloat16).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    rows = []
    for batch in batches:
        ids = torch.randint(100, shape.vocab_size - 100, (batch, prompt_tokens), device="cuda")
        for mode in ("eager", "static+compile"):
            extra = {"cache_implementation": "static"} if mode != "eager" else {}

            def gen(tokens: int, extra: dict = extra, ids: torch.Tensor = ids, model: Qwen3ForCausalLM = model) -> None:
                with torch.no_grad():
                    model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens,
                                   min_new_tokens=tokens, do_sample=False, **extra)

            compile_start = time.perf_counter()
            gen(1 + new_tokens)
            gen(1 + new_tokens)  # compile, then CUDA graph capture, happen in these warm-ups
            warm_s = time.perf_counter() - compile_start
            prefill = _timed(lambda gen=gen: gen(1), repeats)
            full = _timed(lambda gen=gen: gen(1 + new_tokens), repeats)
            rows.append({"size": size, "batch": batch, "mode": mode, "prompt_tokens": prompt_tokens,
                         "prefill_ms": round(prefill * 1000, 2),
                         "per_token_ms": round((full - prefill) / new_tokens * 1000, 3),
                         "warmup_s": round(warm_s, 1)})
            print(f"{size:>5} {mode:>15} {batch:>5} {rows[-1]['prefill_ms']:>11} {rows[-1]['per_token_ms']:>13} "
                  f"{rows[-1]['warmup_s']:>9}", flush=True)
    del model
    torch.cuda.empty_cache()
    return rows


def backend_rows(size: str, batches: list[int], audio_s: float, new_tokens: int, repeats: int) -> list[dict]:
    """Prefill ms and decode ms/token through asr_server's TransformersBackend, eager and static-cache."""
    import torch
    from torch._dynamo.utils import counters

    from asr_server.backends.base import DecodeItem
    from asr_server.backends.transformers_backend import TransformersBackend
    from dictation_devtools.tiny_checkpoint import build_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        path = build_checkpoint(Path(tmp) / size, SHAPES[size])
        import qwen_asr

        asr = qwen_asr.Qwen3ASRModel.from_pretrained(str(path), dtype=torch.bfloat16, device_map="cuda",
                                                     max_new_tokens=new_tokens + 1)
    rng = np.random.default_rng(0)
    rows = []
    for mode in ("eager", "static+compile"):
        backend = TransformersBackend(asr, size, new_tokens + 1, static_cache=mode != "eager")
        prompt = backend.build_prompt("", None)
        for batch in batches:
            items = [DecodeItem(prompt, (rng.standard_normal(int(audio_s * 16000)) * 0.05).astype(np.float32))
                     for _ in range(batch)]

            def gen(tokens: int, backend: TransformersBackend = backend, items: list = items) -> None:
                backend._max_new_tokens = tokens
                backend.generate(items)

            compile_start = time.perf_counter()
            gen(1 + new_tokens)
            gen(1 + new_tokens)
            warm_s = time.perf_counter() - compile_start
            prefill = _timed(lambda gen=gen: gen(1), repeats)
            full = _timed(lambda gen=gen: gen(1 + new_tokens), repeats)
            graphs = counters["stats"]["unique_graphs"]
            rows.append({"size": size, "batch": batch, "mode": mode, "audio_s": audio_s,
                         "prefill_ms": round(prefill * 1000, 2),
                         "per_token_ms": round((full - prefill) / new_tokens * 1000, 3),
                         "warmup_s": round(warm_s, 1), "dynamo_graphs": graphs})
            print(f"{size:>5} {mode:>15} {batch:>5} {rows[-1]['prefill_ms']:>11} {rows[-1]['per_token_ms']:>13} "
                  f"{rows[-1]['warmup_s']:>9} {graphs:>7}", flush=True)
    del asr
    torch.cuda.empty_cache()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("step", "decoder", "backend"), default="step")
    parser.add_argument("--batches", default="1,4,16,64", help="decoder/backend modes: batch sizes")
    parser.add_argument("--prompt-tokens", type=int, default=160, help="decoder mode: prompt length (10 s audio)")
    parser.add_argument("--audio-seconds", type=float, default=10.0, help="backend mode: audio per item")
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
    if args.mode != "step":
        return _decode_modes(args)
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


def _decode_modes(args: argparse.Namespace) -> int:
    import torch
    import transformers

    batches = [int(b) for b in args.batches.split(",")]
    gpu = torch.cuda.get_device_name(0)
    print(f"device: {gpu}; torch {torch.__version__}; transformers {transformers.__version__}; bf16; sdpa; "
          f"random weights; {args.tokens} decode tokens; median of {args.repeats}")
    extra = "graphs" if args.mode == "backend" else ""
    print(f"{'size':>5} {'mode':>15} {'batch':>5} {'prefill ms':>11} {'ms per token':>13} {'warm-up s':>9} {extra}")
    rows = []
    for size in args.sizes.split(","):
        if args.mode == "decoder":
            rows += decoder_rows(size, batches, args.prompt_tokens, args.tokens, args.repeats)
        else:
            rows += backend_rows(size, batches, args.audio_seconds, args.tokens, args.repeats)
    print(json.dumps({"bench": f"gpu-{args.mode}", "gpu": gpu, "torch": torch.__version__,
                      "transformers": transformers.__version__, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
