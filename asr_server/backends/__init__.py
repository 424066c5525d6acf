"""Inference engines behind one interface; `create_backend` picks one from the config and loads it.

Nothing here imports torch, vLLM or qwen_asr at import time: `create_backend` imports the chosen engine's module
when it runs, on the inference thread.
"""

from __future__ import annotations

from asr_server.backends.base import Backend, DecodeItem
from asr_server.config import ServerConfig


def create_backend(config: ServerConfig) -> Backend:
    """Load the model named by `config` with the engine named by `config.backend`."""
    if config.backend == "vllm":
        from asr_server.backends.vllm_backend import VllmBackend

        return VllmBackend.load(config)
    from asr_server.backends.transformers_backend import TransformersBackend

    return TransformersBackend.load(config)


__all__ = ["Backend", "DecodeItem", "create_backend"]
