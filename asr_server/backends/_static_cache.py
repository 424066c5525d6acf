"""Static KV caches for the transformers backend, so `generate` compiles its decode step and replays CUDA graphs.

With a `StaticCache`, transformers' `generate` compiles the model's forward for the decode steps
(`torch.compile(mode="reduce-overhead")`, i.e. CUDA graphs) on CUDA. A compiled graph is tied to the cache's
shapes (batch size x cache length), so a fresh cache per call, sized to that call's prompt, would recompile and
re-record on almost every call. This pool keeps one cache per batch size and sizes its length in buckets, so a
server sees a handful of shapes for its whole life. On the CPU the same caches run eagerly (no compile), which is
how the tests check that static-cache decoding gives the same text as the dynamic cache.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

# Cache lengths are rounded up to a multiple of this many tokens. A 20 s window is ~260 audio tokens, plus the
# prompt and up to 256 new tokens, so one bucket holds every ordinary step: a new length means a recompile
# (about a minute on the first one), a longer cache only a little more attention over masked slots.
LENGTH_BUCKET = 1024
# Caches kept at once (least recently used dropped first): each holds batch x length x layers of keys and values
# (1.7B: 112 KiB per token), so a GPU that also drives a desktop must not keep one for every batch size.
MAX_CACHES = 4


def bucketed(length: int, bucket: int = LENGTH_BUCKET) -> int:
    """`length` rounded up to a whole number of buckets (at least one)."""
    return max(1, -(-length // bucket)) * bucket


class StaticCachePool:
    """One `StaticCache` per recent batch size, grown (never shrunk) to the longest bucketed length seen."""

    def __init__(self, text_config: Any, bucket: int = LENGTH_BUCKET, max_caches: int = MAX_CACHES) -> None:
        self._config = text_config
        self._bucket = bucket
        self._max_caches = max_caches
        self._caches: OrderedDict[int, Any] = OrderedDict()

    def take(self, batch: int, length: int) -> Any:
        """A cleared cache for `batch` rows that holds at least `length` tokens (prompt + new tokens)."""
        from transformers import StaticCache

        need = bucketed(length, self._bucket)
        cache = self._caches.get(batch)
        if cache is None or cache.max_cache_len < need:
            self._caches.pop(batch, None)
            while len(self._caches) >= self._max_caches:
                self._caches.popitem(last=False)
            cache = StaticCache(config=self._config, max_cache_len=need)
            self._caches[batch] = cache
        else:
            cache.reset()
            self._caches.move_to_end(batch)
        return cache

    def shapes(self) -> list[tuple[int, int]]:
        """(batch, length) of every cache held: each is one compiled shape on CUDA."""
        return sorted((batch, cache.max_cache_len) for batch, cache in self._caches.items())


def compile_available() -> bool:
    """Whether `generate` can compile here: inductor needs Triton, which native Windows usually lacks."""
    import importlib.util

    return importlib.util.find_spec("triton") is not None


def adapt_thinker(thinker: Any) -> None:
    """Let qwen_asr's thinker decode with a static cache; changes this instance only.

    qwen-asr 0.0.6 predates static caches in two places. (1) Its legacy 4D-mask helper has an older signature
    than the one transformers' `generate` calls for a compileable cache; without it, `generate` uses the general
    mask API, as the text model itself does. (2) Its forward derives the M-RoPE positions from the 2D attention
    mask, but with a compileable cache `generate` hands the forward a 4D mask. So the positions are computed here,
    from the 2D mask, exactly as the forward would (`get_rope_index` at prefill, then cache position + delta), and
    passed in, which also keeps that data-dependent branch out of the compiled decode step.
    """
    thinker._prepare_4d_causal_attention_mask_with_cache_position = None
    original = thinker.prepare_inputs_for_generation

    def prepare_inputs_for_generation(input_ids: Any, attention_mask: Any = None, cache_position: Any = None,
                                      **kwargs: Any) -> dict[str, Any]:
        positions = None
        if attention_mask is not None and attention_mask.ndim == 2 and cache_position is not None:
            positions = _mrope_positions(thinker, attention_mask, cache_position)
        inputs = original(input_ids, attention_mask=attention_mask, cache_position=cache_position, **kwargs)
        if positions is not None:
            inputs["position_ids"] = positions
        return inputs

    thinker.prepare_inputs_for_generation = prepare_inputs_for_generation


def _mrope_positions(thinker: Any, attention_mask: Any, cache_position: Any) -> Any:
    """The (3, batch, new tokens) positions `Qwen3ASRThinkerForConditionalGeneration.forward` would compute."""
    import torch

    if int(cache_position[0]) == 0 or thinker.rope_deltas is None:
        first = (1 - attention_mask).sum(dim=-1).unsqueeze(1)
        positions, deltas = thinker.get_rope_index(attention_mask)
        thinker.rope_deltas = deltas - first
        return positions
    batch = attention_mask.shape[0]
    steps = torch.arange(cache_position.shape[0], device=attention_mask.device).view(1, -1).expand(batch, -1)
    return steps.add(cache_position[0] + thinker.rope_deltas).unsqueeze(0).expand(3, -1, -1)
