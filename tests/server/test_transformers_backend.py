"""The transformers backend on the tiny checkpoint: batching must not change what each item decodes to."""

from __future__ import annotations

import numpy as np

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
