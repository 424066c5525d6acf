"""transformers engine: `Qwen3ASRModel.from_pretrained` on the CPU or a CUDA GPU, batched `model.generate`.

Slower than vLLM on a GPU, but it runs anywhere the `server-cpu` extra installs (native Windows included), and it
is what the tests run with a tiny random-weight checkpoint. On CUDA it decodes with static KV caches, which makes
`generate` compile its decode step into CUDA graphs (see _static_cache.py and BENCHMARKS.md for what that buys).
"""

from __future__ import annotations

import logging
from typing import Any

from asr_server.backends._static_cache import StaticCachePool, adapt_thinker, compile_available
from asr_server.backends.base import DecodeItem
from asr_server.backends.qwen_common import QwenBackend, explain_load_error, import_qwen_asr
from asr_server.backends.transformers_compat import (
    incompatible_hint,
    load_kwargs,
    model_inputs,
    restore_position_tables,
    tie_output_embeddings,
)
from asr_server.config import ServerConfig
from asr_server.errors import ConfigError, GpuMemoryError, ModelLoadError

log = logging.getLogger(__name__)


CPU_FINAL_TIMEOUT_S = 120.0
"""How long clients should wait for a final from this backend on a CPU (the `ready` message says so)."""

def _pick_device(requested: str) -> str:
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is visible to torch; install a CUDA build of torch, "
                          "check nvidia-smi, or use --device cpu")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


class TransformersBackend(QwenBackend):
    """Batched generate with Hugging Face transformers; prompts left-padded so every row generates from its end."""

    name = "transformers"

    def __init__(self, asr: Any, model: str, max_new_tokens: int, static_cache: bool = False) -> None:
        super().__init__(asr, model)
        # Batched prompts differ in length (prefixes, audio tokens); generation continues from the last
        # column, so shorter rows must be padded on the left.
        self._tokenizer.padding_side = "left"
        self._max_new_tokens = max_new_tokens
        # Eager decoding launches every layer's kernels from Python for each token; on a GPU that, not the
        # arithmetic, is the cost. Static caches let generate compile the decode step (CUDA graphs).
        self._caches = StaticCachePool(asr.model.config) if static_cache else None
        if static_cache:
            adapt_thinker(asr.model.thinker)

    @classmethod
    def load(cls, config: ServerConfig) -> TransformersBackend:
        """Load the checkpoint in bf16 on CUDA or float32 on the CPU."""
        qwen_asr = import_qwen_asr("server-cpu")
        import torch

        device = _pick_device(config.device)
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        log.info("loading %s with transformers on %s (%s)", config.model, device, dtype)
        try:
            asr = qwen_asr.Qwen3ASRModel.from_pretrained(
                config.model, dtype=dtype, device_map=device, max_new_tokens=config.max_new_tokens,
                **load_kwargs(config.model))
        except torch.cuda.OutOfMemoryError as error:
            raise GpuMemoryError(f"the model does not fit in GPU memory ({error}); close other GPU programs, "
                                 "use a smaller model or --device cpu") from error
        except Exception as error:
            hint = incompatible_hint(error)
            raise (ModelLoadError(f"could not load the model {config.model}: {hint}") if hint
                   else explain_load_error(config.model, error)) from error
        tie_output_embeddings(asr.model)
        restore_position_tables(asr.model)
        # Without Triton (native Windows) generate cannot compile, and a static cache alone is no faster.
        static = device == "cuda" and compile_available()
        if device == "cuda" and not static:
            log.warning("Triton is not installed, so decoding runs eagerly (about 3x slower per token on a GPU); "
                        "on native Windows try pip install triton-windows, or run the server in WSL2")
        backend = cls(asr, config.model, config.max_new_tokens, static_cache=static)
        if device == "cpu":
            # A final on a CPU takes seconds, more under load: clients told so wait instead of replaying.
            backend.final_timeout_s = CPU_FINAL_TIMEOUT_S
        if static:
            log.info("compiling the decode step for CUDA graphs (a minute or two, once per start)")
            backend.warm_up()
        return backend

    def warm_up(self) -> None:
        """Compile before the first user waits for it: batch 1, then batch 2 (which makes the batch size dynamic,
        so later sizes only record a CUDA graph). If that fails (a driver or toolchain the compiler cannot use),
        say so and decode eagerly: slower, but the server works."""
        import numpy as np

        item = DecodeItem(self.build_prompt("", None), np.zeros(16000, dtype=np.float32))
        try:
            for batch in (1, 2):
                self.generate([item] * batch)
        except Exception as error:
            log.warning("compiling the decode step failed (%s: %s); decoding eagerly instead, about 3x slower per "
                        "token", type(error).__name__, str(error).splitlines()[0][:200] if str(error) else "")
            self._caches = None

    def generate(self, items: list[DecodeItem]) -> list[str]:
        """The processor + `model.generate` path of `Qwen3ASRModel._infer_asr_transformers`, with our prompts."""
        import torch

        processor = self._asr.processor
        model = self._asr.model
        inputs = processor(text=[item.prompt for item in items], audio=[item.audio for item in items],
                           return_tensors="pt", padding=True)
        inputs = model_inputs(inputs)
        inputs = inputs.to(model.device).to(model.dtype)
        extra: dict[str, Any] = {}
        if self._caches is not None:
            length = inputs["input_ids"].shape[1] + self._max_new_tokens
            extra["past_key_values"] = self._caches.take(len(items), length)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=self._max_new_tokens, **extra)
        sequences = out.sequences if hasattr(out, "sequences") else out
        return list(processor.batch_decode(sequences[:, inputs["input_ids"].shape[1]:],
                                           skip_special_tokens=True, clean_up_tokenization_spaces=False))

