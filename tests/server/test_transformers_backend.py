"""The transformers backend on the tiny checkpoint: batching must not change what each item decodes to."""

from __future__ import annotations

import numpy as np
import pytest

from asr_server.backends import DecodeItem, create_backend
from asr_server.config import ServerConfig


def test_a_batch_decodes_each_item_as_it_would_alone(tiny_checkpoint):
    """Items of different prompt and audio lengths share a padded batch; greedy output must be identical."""
    backend = create_backend(ServerConfig(model=str(tiny_checkpoint), backend="transformers", device="cpu"))
    rng = np.random.default_rng(0)
    items = [
        DecodeItem(backend.build_prompt("", None), (rng.standard_normal(16000) * 0.1).astype(np.float32)),
        DecodeItem(backend.build_prompt("Qwen, 术语", "English") + "hello",
                   (rng.standard_normal(48000) * 0.1).astype(np.float32)),
        DecodeItem(backend.build_prompt("", "Chinese"), (rng.standard_normal(8000) * 0.1).astype(np.float32)),
    ]
    alone = [backend.generate([item])[0] for item in items]
    assert backend.generate(items) == alone
    assert len(set(alone)) == 3, "different inputs give different outputs, so the comparison means something"


def test_rollback_drops_tokens_and_never_splits_a_character(tiny_checkpoint):
    backend = create_backend(ServerConfig(model=str(tiny_checkpoint), backend="transformers", device="cpu"))
    raw = "language Chinese<asr_text>你好世界，这是一个听写测试。"
    ids = backend._tokenizer.encode(raw)
    for tokens in range(0, 8):
        prefix = backend.rollback(raw, tokens)
        assert raw.startswith(prefix) and "\ufffd" not in prefix
        assert len(backend._tokenizer.encode(prefix)) <= max(0, len(ids) - tokens)
    assert backend.rollback(raw, len(ids) + 5) == ""


def test_static_kv_cache_decodes_exactly_as_the_dynamic_cache(tiny_checkpoint):
    """The CUDA path (static caches from the pool) runs eagerly on the CPU: same text as the default cache,
    for a padded batch and for batch sizes and lengths that reuse, grow and evict pooled caches."""
    from asr_server.backends.transformers_backend import TransformersBackend

    dynamic = create_backend(ServerConfig(model=str(tiny_checkpoint), backend="transformers", device="cpu"))
    static = TransformersBackend(dynamic._asr, dynamic.model, dynamic._max_new_tokens, static_cache=True)
    rng = np.random.default_rng(1)

    def item(seconds: float, context: str = "", language: str | None = None) -> DecodeItem:
        audio = (rng.standard_normal(int(seconds * 16000)) * 0.1).astype(np.float32)
        return DecodeItem(dynamic.build_prompt(context, language), audio)

    batches = [[item(1.0), item(3.0, "Qwen, 术语", "English"), item(0.5, "", "Chinese")], [item(2.0)],
               [item(9.0), item(0.3)], [item(1.5)]]
    for batch in batches:
        expected = dynamic.generate(batch)
        assert static.generate(batch) == expected
    shapes = static._caches.shapes()
    assert {batch for batch, _ in shapes} == {1, 2, 3}, "one pooled cache per batch size seen"
    assert all(length % 1024 == 0 for _, length in shapes)


@pytest.mark.slow  # imports transformers and torch: seconds on a busy machine
def test_static_cache_pool_reuses_grows_and_evicts_the_least_recently_used():
    from transformers import Qwen3Config

    from asr_server.backends._static_cache import StaticCachePool, bucketed

    pool = StaticCachePool(Qwen3Config(num_hidden_layers=1), bucket=256, max_caches=2)
    first = pool.take(1, 100)
    assert pool.take(1, 200) is first, "same batch, fits the bucket: the cache (and its compiled shape) is reused"
    assert pool.take(1, 300) is not first and pool.shapes() == [(1, 512)]
    pool.take(2, 10)
    pool.take(1, 10)  # batch 1 is now the most recently used
    pool.take(3, 10)
    assert pool.shapes() == [(1, 512), (3, 256)], "batch 2 was the least recently used and is dropped"
    assert [bucketed(n, 256) for n in (0, 1, 256, 257)] == [256, 256, 256, 512]


def test_a_failed_compile_warm_up_falls_back_to_eager_decoding(tiny_checkpoint, caplog):
    from asr_server.backends.transformers_backend import TransformersBackend

    dynamic = create_backend(ServerConfig(model=str(tiny_checkpoint), backend="transformers", device="cpu"))
    static = TransformersBackend(dynamic._asr, dynamic.model, dynamic._max_new_tokens, static_cache=True)
    real = dynamic._asr.model.generate

    def no_compiler(*args, **kwargs):
        if "past_key_values" in kwargs:
            raise RuntimeError("inductor: no working C compiler")
        return real(*args, **kwargs)

    dynamic._asr.model.generate = no_compiler
    try:
        static.warm_up()
        item = DecodeItem(dynamic.build_prompt("", None), np.full(16000, 0.05, dtype=np.float32))
        assert static._caches is None and static.generate([item]) == dynamic.generate([item])
    finally:
        dynamic._asr.model.generate = real
    assert "decoding eagerly instead" in caplog.text and "no working C compiler" in caplog.text
