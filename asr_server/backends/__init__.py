"""In-process inference engines behind one interface; `create_backend` loads the transformers one.

Nothing here imports torch, vLLM or qwen_asr at import time: `create_backend` imports the chosen engine's module
when it runs, on the inference thread.
"""

from __future__ import annotations

from asr_server.backends.base import Backend, DecodeItem
from asr_server.config import ServerConfig


def create_backend(config: ServerConfig) -> Backend:
    """Load the model named by `config` in this process (the transformers engine; vLLM runs as its own server,
    reached over HTTP by asr_server.engine)."""
    from asr_server.backends.transformers_backend import TransformersBackend

    return TransformersBackend.load(config)


__all__ = ["Backend", "DecodeItem", "create_backend"]
